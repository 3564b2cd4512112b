// tests/data/test_bpe_tokenizer.cpp — byte-level BPE against reference tokenizers: the ids of every
// tricky string (Unicode, whitespace runs, numbers, contractions, 10k-character words, the empty
// string) as Hugging Face tokenizers gives them (and tiktoken and gpt-3-encoder where they apply, as
// tests/fixtures/bpe/expected-*.json record), with and without special tokens, and the round trip
// decode(encode(x)) == x, invalid UTF-8 included.
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/rng.h"
#include "data/bpe_files.h"
#include "data/bpe_unicode.h"
#include "data/text_shards.h"
#include "data/text_tokenizer.h"
#include "data/token_source.h"
#include "tests/data/bpe_fixtures.h"
#include "tests/data/temp_dir.h"

namespace krait::data {
namespace {

using testing::bpe_fixture;
using testing::expected_ids;
using testing::tricky_strings;

// Each fixture tokenizer with the name of its expected ids.
struct Case {
  const char* tokenizer;
  const char* expected;
};
constexpr Case kCases[] = {{"gpt2/encoder.json", "gpt2"},
                           {"llama3-style.json", "llama3-style"},
                           {"neox-style.json", "neox-style"},
                           {"prefix-space.json", "prefix-space"}};

// The strings as the fixture encoded them (the Llama-3 style's end-of-text is spelled differently).
std::vector<std::string> strings_for(const std::string& expected) {
  std::vector<std::string> strings = tricky_strings();
  if (expected != "llama3-style") return strings;
  for (std::string& s : strings) {
    for (size_t at = s.find("<|endoftext|>"); at != std::string::npos; at = s.find("<|endoftext|>", at))
      s.replace(at, 13, "<|end_of_text|>");
  }
  return strings;
}

class ReferenceIds : public ::testing::TestWithParam<Case> {};

TEST_P(ReferenceIds, EveryTrickyStringEncodesAsTheReferenceDoes) {
  const BpeTokenizer tokenizer = load_bpe_tokenizer(bpe_fixture(GetParam().tokenizer));
  const std::vector<std::string> strings = strings_for(GetParam().expected);
  const testing::ExpectedIds expected = expected_ids(GetParam().expected);
  ASSERT_EQ(strings.size(), expected.ordinary.size());
  ASSERT_GE(strings.size(), 80u);
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string shown = strings[i].substr(0, 40);
    EXPECT_EQ(tokenizer.encode(strings[i]), expected.ordinary[i]) << "string " << i << ": " << shown;
    EXPECT_EQ(tokenizer.encode(strings[i], true), expected.with_special(i)) << "string " << i << ": " << shown;
  }
}

// The text a tokenizer's ids decode to: the text itself, but in NFC for the NeoX style and with a
// space in front for add_prefix_space (special tokens not matched: one stretch).
std::string decoded_text(const std::string& expected, const std::string& s) {
  if (expected == "neox-style") return to_nfc(s);
  if (expected == "prefix-space" && !s.empty() && s[0] != ' ') return " " + s;
  return s;
}

TEST_P(ReferenceIds, DecodingGivesTheTextBack) {
  const BpeTokenizer tokenizer = load_bpe_tokenizer(bpe_fixture(GetParam().tokenizer));
  const std::string expected = GetParam().expected;
  const std::vector<std::string> strings = strings_for(expected);
  for (size_t i = 0; i < strings.size(); ++i) {
    EXPECT_TRUE(tokenizer.decode(tokenizer.encode(strings[i])) == decoded_text(expected, strings[i])) << "string " << i;
    if (expected != "prefix-space") {  // matched special tokens cut the text into stretches, each prefixed
      EXPECT_TRUE(tokenizer.decode(tokenizer.encode(strings[i], true)) == decoded_text(expected, strings[i]))
          << "string " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReferenceIds, ::testing::ValuesIn(kCases),
                         [](const auto& info) {
                           std::string name = info.param.expected;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

TEST(BpeTokenizer, TokenizerJsonOfGpt2EqualsEncoderJsonAndVocabBpe) {
  const BpeTokenizer files = load_bpe_tokenizer(bpe_fixture("gpt2"));
  for (const bool pairs : {false, true}) {
    const BpeTokenizer json(read_hf_tokenizer_json(testing::gpt2_as_tokenizer_json(pairs), "gpt2.json"));
    EXPECT_EQ(json.vocab_size(), 50257u);
    EXPECT_EQ(json.end_of_text(), 50256);
    for (const std::string& s : tricky_strings()) {
      EXPECT_EQ(json.encode(s), files.encode(s));
      EXPECT_EQ(json.encode(s, true), files.encode(s, true));
    }
  }
}

TEST(BpeTokenizer, RandomBytesAndInvalidUtf8RoundTrip) {
  Rng rng(14);
  for (const Case& c : kCases) {
    const BpeTokenizer tokenizer = load_bpe_tokenizer(bpe_fixture(c.tokenizer));
    for (int trial = 0; trial < 50; ++trial) {
      std::string bytes(rng.next_u64() % 200, '\0');
      for (char& b : bytes) b = static_cast<char>(rng.next_u64() % 256);
      EXPECT_TRUE(tokenizer.decode(tokenizer.encode(bytes)) == decoded_text(c.expected, bytes)) << c.tokenizer;
    }
    for (const std::string s : {"\xff\xfe", "caf\xc3", "\xc3\x28 \xe2\x82", "\xed\xa0\x80 surrogate", "\xc0\xaf"})
      EXPECT_EQ(tokenizer.decode(tokenizer.encode(s)), decoded_text(c.expected, s)) << c.tokenizer;
  }
}

TEST(BpeTokenizer, NfcTokensDecodeToTheNormalizedText) {
  const BpeTokenizer tokenizer = load_bpe_tokenizer(bpe_fixture("neox-style.json"));
  EXPECT_EQ(tokenizer.decode(tokenizer.encode("cafe\xcc\x81")), "caf\xc3\xa9");  // e + U+0301 -> é
  EXPECT_EQ(tokenizer.decode(tokenizer.encode("a  b")), "a  b");                  // an added token of spaces
}

TEST(BpeTokenizer, DecodeRefusesIdsThatAreNoTokens) {
  const BpeTokenizer tokenizer = load_bpe_tokenizer(bpe_fixture("gpt2"));
  EXPECT_EQ(tokenizer.decode(std::vector<int32_t>{15496, 995}), "Hello world");
  EXPECT_THROW(tokenizer.decode(std::vector<int32_t>{50257}), Error);
  EXPECT_THROW(tokenizer.decode(std::vector<int32_t>{-1}), Error);
}

TEST(BpeTextShards, SameShardsOnOneAndTwoThreadsWithEndOfTextAfterEachDocument) {
  testing::TempDir dir;
  std::vector<std::string> files;
  for (int i = 0; i < 5; ++i) {
    files.push_back(dir.file("doc" + std::to_string(i) + ".txt"));
    testing::write_text(files.back(), "Document " + std::to_string(i) + ": It's a test, isn't it?\nYes.\n");
  }
  const auto tokenizer = open_text_tokenizer(bpe_fixture("gpt2"));
  std::vector<std::vector<int32_t>> shards;
  for (const unsigned threads : {1u, 2u}) {
    const std::string out = dir.file("out" + std::to_string(threads));
    const TextShardCounts counts = text_files_to_shards(files, out, 0.0, ShardFormat::binary, *tokenizer, threads);
    EXPECT_EQ(counts.vocab_size, 50257u);
    const auto source = open_tokens(counts.train_path);
    EXPECT_EQ(source->vocab_size(), 50257u);
    std::vector<int32_t> ids(source->size());
    source->read(0, ids.size(), ids.data());
    shards.push_back(ids);
  }
  EXPECT_EQ(shards[0], shards[1]);
  EXPECT_EQ(std::count(shards[0].begin(), shards[0].end(), 50256), 5);
  EXPECT_EQ(shards[0].back(), 50256);
  std::string text;
  for (int i = 0; i < 5; ++i) text += "Document " + std::to_string(i) + ": It's a test, isn't it?\nYes.\n<|endoftext|>";
  EXPECT_EQ(tokenizer->decode(shards[0]), text);
}

}  // namespace
}  // namespace krait::data
