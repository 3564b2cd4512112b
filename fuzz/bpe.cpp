// fuzz/bpe.cpp — fuzzes the byte-level BPE tokenizer: its file readers (data/bpe_files.h) and the
// tokenizer itself (data/bpe_tokenizer.h, with the pre-tokenizer scanner and NFC). The first byte
// says what the rest is: a Hugging Face tokenizer.json; GPT-2's encoder.json and vocab.bpe, split at
// the first NUL; or text for a built-in tokenizer (every byte, a few merges, two added tokens; no,
// the GPT-2 or the Llama-3 pattern, NFC, prefix space and ignore_merges as the byte's bits say).
// Whatever a tokenizer encodes must be ids below its vocabulary that decode to the (normalized) text.
#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "data/bpe_files.h"
#include "data/bpe_tokenizer.h"
#include "data/bpe_unicode.h"
#include "fuzz/fuzz_input.h"

namespace {

using krait::data::BpeDefinition;
using krait::data::BpeTokenizer;

// Every byte (ids 0-255, in GPT-2's spelling), merges making " t", "he", " the" and "in", the
// special "<|endoftext|>" and a run of three spaces as an ordinary added token.
BpeDefinition builtin_definition(unsigned options) {
  BpeDefinition d;
  d.source = "builtin";
  for (unsigned b = 0; b < 256; ++b) {
    std::string token;
    krait::data::append_utf8(token, krait::data::gpt2_byte_char(static_cast<uint8_t>(b)));
    d.vocab.emplace_back(token, b);
  }
  d.merges = {{"\xc4\xa0", "t"}, {"h", "e"}, {"\xc4\xa0t", "he"}, {"i", "n"}};
  for (const auto& [left, right] : d.merges) d.vocab.emplace_back(left + right, d.vocab.size());
  d.added_tokens = {{"<|endoftext|>", 260, true}, {"   ", 261, false}};
  using krait::data::SplitPattern;
  if (options % 3 != 0) d.split = options % 3 == 1 ? SplitPattern::Gpt2 : SplitPattern::Llama3;
  d.nfc = (options / 3) & 1;
  d.add_prefix_space = (options / 6) & 1;
  d.ignore_merges = (options / 12) & 1;
  return d;
}

// Encodes text both ways (special tokens as text, and matched); checks the ids and, unless a prefix
// space was added, that they decode to the text (NFC-normalized when the tokenizer normalizes).
void check_encoding(const BpeTokenizer& tokenizer, const std::string& text, bool nfc, bool prefix_space) {
  for (const bool special : {false, true}) {
    std::vector<int32_t> ids;
    krait::fuzz::expect_clean([&] { ids = tokenizer.encode(text, special); });  // a byte with no token
    for (const int32_t id : ids) {
      if (id < 0 || static_cast<uint32_t>(id) >= tokenizer.vocab_size()) __builtin_trap();
    }
    if (!prefix_space && !ids.empty() && tokenizer.decode(ids) != (nfc ? krait::data::to_nfc(text) : text))
      __builtin_trap();
  }
}

constexpr const char* kSample =
    "Hello, world! It's 2024:  na\xc3\xafve caf\xc3\xa9 \xf0\x9f\x98\x80\r\n\n   <|endoftext|>\tx";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      krait::fuzz::expect_clean([&] {
        const BpeDefinition d = krait::data::read_hf_tokenizer_json(rest, "tokenizer.json");
        check_encoding(BpeTokenizer(d), kSample, d.nfc, d.add_prefix_space);
      });
      break;
    case 1:
      krait::fuzz::expect_clean([&] {
        const size_t nul = std::min(rest.find('\0'), rest.size());
        const BpeDefinition d = krait::data::read_gpt2_vocab(rest.substr(0, nul), "encoder.json",
                                                             rest.substr(std::min(nul + 1, rest.size())), "vocab.bpe");
        check_encoding(BpeTokenizer(d), kSample, d.nfc, d.add_prefix_space);
      });
      break;
    default: {
      static std::array<std::optional<BpeTokenizer>, 24> builtin;
      const unsigned options = (data[0] / 3) % builtin.size();
      const BpeDefinition d = builtin_definition(options);
      if (!builtin[options]) builtin[options].emplace(d);
      check_encoding(*builtin[options], rest, d.nfc, d.add_prefix_space);
    }
  }
  return 0;
}
