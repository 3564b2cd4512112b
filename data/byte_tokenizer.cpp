// data/byte_tokenizer.cpp — ByteTokenizer.
#include "data/byte_tokenizer.h"

#include "common/error.h"

namespace krait::data {

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
  return ids;
}

std::string ByteTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  text.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id == kEndOfText) {
      text += kEndOfTextMarker;
    } else {
      KRAIT_CHECK(id >= 0 && id < 256, "ByteTokenizer::decode: id ", id, " at position ", i,
                  " is outside the vocabulary [0, ", kVocabSize, ")");
      text += static_cast<char>(static_cast<unsigned char>(id));
    }
  }
  return text;
}

}  // namespace krait::data
