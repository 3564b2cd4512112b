// data/bpe_files.h — reading byte-level BPE tokenizers from their files: Hugging Face's
// tokenizer.json (model BPE; pre-tokenizer ByteLevel, or Split with the GPT-2 or Llama-3 pattern then
// ByteLevel; normalizer none or NFC; added tokens) and GPT-2's encoder.json + vocab.bpe. Every error
// names the file and what in it is wrong or unsupported.
#pragma once

#include <string>

#include "data/bpe_tokenizer.h"

namespace krait::data {

// A tokenizer.json's text; `where` names it in errors. Refuses what it cannot reproduce exactly: a
// model other than BPE, BPE dropout, byte fallback, subword prefixes or suffixes, a normalizer other
// than NFC, a pre-tokenizer other than the known ones, a decoder other than ByteLevel, added tokens
// with lstrip, rstrip or single_word.
BpeDefinition read_hf_tokenizer_json(const std::string& json, const std::string& where);

// GPT-2's encoder.json (token -> id) and vocab.bpe (a "#version" line, then one merge "a b" a line),
// with the GPT-2 pattern; "<|endoftext|>", when in the vocabulary, is its special token.
BpeDefinition read_gpt2_vocab(const std::string& encoder_json, const std::string& encoder_where,
                              const std::string& vocab_bpe, const std::string& vocab_bpe_where);

// The tokenizer at `path`: a tokenizer.json; GPT-2's encoder.json or vocab.bpe (the other beside it);
// or a directory holding tokenizer.json, or encoder.json and vocab.bpe.
BpeTokenizer load_bpe_tokenizer(const std::string& path);

}  // namespace krait::data
