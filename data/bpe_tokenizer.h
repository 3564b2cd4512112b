// data/bpe_tokenizer.h — BpeTokenizer: byte-level BPE as GPT-2, GPT-NeoX and Llama-3 use it. Text is
// (optionally NFC-normalized, then) cut at added tokens, each stretch between them cut into pieces by
// the pre-tokenizer pattern (data/bpe_pretokenizer.h), and each piece's UTF-8 bytes merged pairwise
// by the merges' ranks, lowest rank first and leftmost first among equals, until no ranked pair is
// left (the algorithm of GPT-2's encoder.py and of Hugging Face tokenizers). Decoding concatenates
// the tokens' bytes, so decode(encode(text)) == text for any bytes, invalid UTF-8 included.
//
// Vocabulary entries are spelled in GPT-2's byte-to-unicode alphabet (byte 0x20 is "Ġ", ...), as in
// encoder.json and tokenizer.json; `gpt2_byte_char` gives it. Readers of those files are in
// data/bpe_files.h.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/bpe_pretokenizer.h"

namespace krait::data {

// A token matched in the text as it stands, before pre-tokenization (Hugging Face's added tokens,
// e.g. "<|endoftext|>", or GPT-NeoX's runs of spaces). The leftmost match wins, the longest at a place.
struct BpeAddedToken {
  std::string content;
  int64_t id = 0;
  bool special = false;  // matched only when encoding with special tokens; other added tokens always
};

// What a tokenizer file says, before BpeTokenizer checks and indexes it.
struct BpeDefinition {
  std::string source;  // the file(s), named in errors and in the description
  std::vector<std::pair<std::string, int64_t>> vocab;       // token (byte-to-unicode spelling) -> id
  std::vector<std::pair<std::string, std::string>> merges;  // highest priority (rank 0) first
  std::vector<BpeAddedToken> added_tokens;
  std::optional<SplitPattern> split;  // nullopt: each stretch between added tokens is one piece
  bool add_prefix_space = false;      // a space before each stretch that does not start with one
  bool nfc = false;                   // normalize the text to NFC first
  bool ignore_merges = false;         // a piece that is a whole vocabulary token is that token (Llama-3)
};

class BpeTokenizer {
 public:
  static constexpr int64_t kMaxId = (1 << 24) - 1;  // ids above this are refused as implausible

  // Throws krait::Error naming definition.source when: an id is negative, above kMaxId or given to
  // two different tokens; a token is not in the byte-to-unicode spelling; a merge names a token, or
  // makes one, that is not in the vocabulary; an added token is empty.
  explicit BpeTokenizer(const BpeDefinition& definition);
  ~BpeTokenizer();
  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;

  // Ids of `text`. Special added tokens are matched only with special_tokens; otherwise their text is
  // encoded like any other. Throws if the text holds a byte the vocabulary has no token for.
  // Thread-safe: each call keeps its own cache of the pieces it has seen.
  std::vector<int32_t> encode(std::string_view text, bool special_tokens = false) const;

  // The bytes of the ids' tokens, concatenated. Throws on an id that is no token.
  std::string decode(std::span<const int32_t> ids) const;

  uint32_t vocab_size() const;  // the largest id + 1
  // The id of the end-of-text token ("<|endoftext|>", "<|end_of_text|>" or "</s>", an added token
  // or a vocabulary entry), or -1 when there is none.
  int32_t end_of_text() const;
  // One line: the source, the vocabulary, merges, pre-tokenizer and normalizer.
  const std::string& description() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// GPT-2's bytes_to_unicode: the printable character that spells byte b in vocabulary files, and the
// byte a character spells (or -1 when it spells none).
char32_t gpt2_byte_char(uint8_t b);
int gpt2_char_byte(char32_t c);

}  // namespace krait::data
