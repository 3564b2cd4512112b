// tests/data/bpe_fixtures.h — the BPE test fixtures of tests/fixtures/bpe/ (written by
// tools/bpe_reference/make_fixtures.sh): the tricky strings, the tokenizers, and the ids Hugging Face
// tokenizers (and, where noted in each file, tiktoken and gpt-3-encoder) give for each string.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/bpe_files.h"

namespace krait::data::testing {

std::string bpe_fixture(const std::string& name);  // the path of tests/fixtures/bpe/NAME
std::string read_file_text(const std::string& path);
std::vector<std::string> tricky_strings();

struct ExpectedIds {
  std::vector<std::vector<int32_t>> ordinary;       // special tokens in the text are text
  std::map<size_t, std::vector<int32_t>> special;   // where matching special tokens changes the ids
  const std::vector<int32_t>& with_special(size_t i) const {
    const auto it = special.find(i);
    return it == special.end() ? ordinary[i] : it->second;
  }
};
ExpectedIds expected_ids(const std::string& fixture);  // expected-NAME.json

// GPT-2's tokenizer as a Hugging Face tokenizer.json, built from the encoder.json and vocab.bpe
// fixtures, with merges written as "a b" strings or as pairs.
std::string gpt2_as_tokenizer_json(bool merges_as_pairs);

}  // namespace krait::data::testing
