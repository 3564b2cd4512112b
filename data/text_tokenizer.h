// data/text_tokenizer.h — TextTokenizer: what krait-text2shard and `krait generate` need of a
// tokenizer, for the byte tokenizer and byte-level BPE alike, and open_text_tokenizer, which picks
// one from a recipe's `data.tokenizer` or a `--tokenizer` argument.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace krait::data {

class TextTokenizer {
 public:
  virtual ~TextTokenizer() = default;
  // Special tokens written in the text are encoded as text, never as the special token.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  virtual std::string decode(std::span<const int32_t> ids) const = 0;
  virtual uint32_t vocab_size() const = 0;
  virtual int32_t end_of_text() const = 0;  // the document separator; -1 when there is none
  virtual std::string description() const = 0;
};

// "" or "bytes": the byte tokenizer (vocab 257); anything else names a BPE tokenizer's file or
// directory (load_bpe_tokenizer in data/bpe_files.h).
std::unique_ptr<TextTokenizer> open_text_tokenizer(const std::string& spec);

// The byte tokenizer as a TextTokenizer (a shared instance).
const TextTokenizer& byte_text_tokenizer();

}  // namespace krait::data
