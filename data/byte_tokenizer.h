// data/byte_tokenizer.h — ByteTokenizer: ids 0..255 are the raw bytes of UTF-8 text and id 256 is
// end-of-text, the separator between documents, so vocab_size is 257.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace krait::data {

class ByteTokenizer {
 public:
  static constexpr int32_t kEndOfText = 256;
  static constexpr uint32_t kVocabSize = 257;
  static constexpr std::string_view kEndOfTextMarker = "<|eot|>";

  // One id per byte; never emits kEndOfText (callers insert it between documents).
  std::vector<int32_t> encode(std::string_view text) const;

  // Bytes back as they were (invalid UTF-8 from a sampled model passes through unchanged);
  // kEndOfText becomes kEndOfTextMarker. Throws on an id outside [0, kVocabSize).
  std::string decode(std::span<const int32_t> ids) const;
};

}  // namespace krait::data
