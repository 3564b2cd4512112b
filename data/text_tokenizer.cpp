// data/text_tokenizer.cpp — the byte tokenizer and BPE behind TextTokenizer (see text_tokenizer.h).
#include "data/text_tokenizer.h"

#include "data/bpe_files.h"
#include "data/byte_tokenizer.h"

namespace krait::data {
namespace {

class ByteTextTokenizer final : public TextTokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text) const override { return bytes_.encode(text); }
  std::string decode(std::span<const int32_t> ids) const override { return bytes_.decode(ids); }
  uint32_t vocab_size() const override { return ByteTokenizer::kVocabSize; }
  int32_t end_of_text() const override { return ByteTokenizer::kEndOfText; }
  std::string description() const override { return "bytes (vocab 257, end-of-text 256)"; }

 private:
  ByteTokenizer bytes_;
};

class BpeTextTokenizer final : public TextTokenizer {
 public:
  explicit BpeTextTokenizer(BpeTokenizer bpe) : bpe_(std::move(bpe)) {}
  std::vector<int32_t> encode(std::string_view text) const override { return bpe_.encode(text); }
  std::string decode(std::span<const int32_t> ids) const override { return bpe_.decode(ids); }
  uint32_t vocab_size() const override { return bpe_.vocab_size(); }
  int32_t end_of_text() const override { return bpe_.end_of_text(); }
  std::string description() const override { return bpe_.description(); }

 private:
  BpeTokenizer bpe_;
};

}  // namespace

std::unique_ptr<TextTokenizer> open_text_tokenizer(const std::string& spec) {
  if (spec.empty() || spec == "bytes") return std::make_unique<ByteTextTokenizer>();
  return std::make_unique<BpeTextTokenizer>(load_bpe_tokenizer(spec));
}

const TextTokenizer& byte_text_tokenizer() {
  static const ByteTextTokenizer bytes;
  return bytes;
}

}  // namespace krait::data
