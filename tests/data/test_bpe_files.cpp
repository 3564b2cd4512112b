// tests/data/test_bpe_files.cpp — the tokenizer file readers: what they accept, and that every
// refusal names the file and what is wrong in it.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/json.h"
#include "data/bpe_files.h"
#include "tests/data/bpe_fixtures.h"
#include "tests/data/error_text.h"
#include "tests/data/temp_dir.h"

namespace krait::data {
namespace {

using testing::error_text;
using testing::mentions;

// A small byte-level tokenizer.json: the 256 byte tokens, "Ġt" + "he"... with `model`, `pre`,
// `normalizer`, `added` and `decoder` spliced in where given.
std::string tiny_json(const std::string& model_extra = "", const std::string& pre = "",
                      const std::string& normalizer = "null", const std::string& added = "[]",
                      const std::string& merges = R"(["Ġ t", "h e", "Ġt he"])", const std::string& decoder =
                          R"({"type": "ByteLevel"})") {
  std::string vocab;
  for (int b = 0; b < 256; ++b) {
    std::string spelled;
    const char32_t c = gpt2_byte_char(static_cast<uint8_t>(b));
    if (c < 0x80) {
      spelled = std::string(1, static_cast<char>(c));
    } else {
      spelled += static_cast<char>(0xC0 | (c >> 6));
      spelled += static_cast<char>(0x80 | (c & 0x3F));
    }
    vocab += json_quote(spelled) + ": " + std::to_string(b) + ", ";
  }
  vocab += R"("Ġt": 256, "he": 257, "Ġthe": 258)";
  const std::string pre_tokenizer =
      pre.empty() ? R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true})" : pre;
  return R"({"added_tokens": )" + added + R"(, "normalizer": )" + normalizer + R"(, "pre_tokenizer": )" +
         pre_tokenizer + R"(, "decoder": )" + decoder + R"(, "model": {"type": "BPE")" + model_extra +
         R"(, "vocab": {)" + vocab + R"(}, "merges": )" + merges + "}}";
}

std::string refusal(const std::string& json) {
  return error_text([&] { BpeTokenizer(read_hf_tokenizer_json(json, "tok.json")); });
}

TEST(BpeFiles, ATinyTokenizerJsonWorks) {
  const BpeTokenizer t(read_hf_tokenizer_json(tiny_json(), "tok.json"));
  EXPECT_EQ(t.encode(" the"), std::vector<int32_t>({258}));
  EXPECT_EQ(t.encode("the the"), std::vector<int32_t>({'t', 257, 258}));
  EXPECT_EQ(t.vocab_size(), 259u);
  EXPECT_EQ(t.end_of_text(), -1);
  EXPECT_TRUE(mentions(t.description(), "tok.json"));
}

TEST(BpeFiles, UnsupportedModelsAndStepsAreRefusedByName) {
  EXPECT_TRUE(mentions(refusal(R"({"model": {"type": "WordPiece", "vocab": {}}})"), "tok.json: model.type is 'WordPiece'"));
  EXPECT_TRUE(mentions(refusal(tiny_json(R"(, "dropout": 0.1)")), "model.dropout is set"));
  EXPECT_TRUE(mentions(refusal(tiny_json(R"(, "byte_fallback": true)")), "byte_fallback"));
  EXPECT_TRUE(mentions(refusal(tiny_json(R"(, "continuing_subword_prefix": "##")")), "continuing_subword_prefix"));
  EXPECT_TRUE(mentions(refusal(tiny_json("", R"({"type": "Whitespace"})")), "pre-tokenizer 'Whitespace' is not supported"));
  EXPECT_TRUE(mentions(refusal(tiny_json("", R"({"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated"})")),
                       "unknown pre-tokenizer pattern '\\s+'"));
  EXPECT_TRUE(mentions(refusal(tiny_json("", R"({"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"}, "behavior": "Removed"})")),
                       "behavior Isolated"));
  EXPECT_TRUE(mentions(refusal(tiny_json("", R"({"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated"})")),
                       "no ByteLevel step"));
  EXPECT_TRUE(mentions(refusal(tiny_json("", "", R"({"type": "NFKC"})")), "normalizer 'NFKC' is not supported"));
  EXPECT_TRUE(mentions(refusal(tiny_json("", "", "null", "[]", R"(["Ġ t"])", R"({"type": "WordPiece"})")),
                       "decoder 'WordPiece'"));
  EXPECT_TRUE(mentions(refusal(tiny_json("", "", "null",
                                         R"([{"id": 259, "content": "<mask>", "lstrip": true, "special": true}])")),
                       "'<mask>' has lstrip true"));
}

TEST(BpeFiles, BrokenVocabulariesAndMergesAreNamed) {
  EXPECT_TRUE(mentions(refusal(R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}}})"),
                       "model.merges is missing"));
  EXPECT_TRUE(mentions(refusal(tiny_json("", "", "null", "[]", R"(["Ġ q"])")), "merge 1 ('Ġ' 'q'): 'Ġq' is not in the vocabulary"));
  EXPECT_TRUE(mentions(refusal(tiny_json("", "", "null", "[]", R"(["Ġt"])")), "model.merges[0] is \"Ġt\""));
  EXPECT_TRUE(mentions(refusal(tiny_json("", "", "null", "[]", R"([["h"]])")), "model.merges[0] must be"));
  EXPECT_TRUE(mentions(refusal(R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"vocab": {"a": -3}, "merges": []}})"),
                       "token 'a' has id -3"));
  EXPECT_TRUE(mentions(refusal(R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"vocab": {"a": 0, "b": 0}, "merges": []}})"),
                       "id 0 is given to two tokens"));
  EXPECT_TRUE(mentions(refusal(R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"vocab": {"a b": 0}, "merges": []}})"),
                       "outside GPT-2's byte-to-unicode alphabet"));
  EXPECT_TRUE(mentions(refusal(R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"vocab": {"a": "x"}, "merges": []}})"),
                       "model.vocab[\"a\"] must be an integer id"));
  EXPECT_TRUE(mentions(refusal("{\"model\": "), "tok.json: malformed JSON"));
}

TEST(BpeFiles, AddedTokenIdsMustBeTheOnesHuggingFaceGives) {
  const std::string eot = R"([{"id": 259, "content": "<|endoftext|>", "special": true}])";
  EXPECT_EQ(BpeTokenizer(read_hf_tokenizer_json(tiny_json("", "", "null", eot), "t")).end_of_text(), 259);
  EXPECT_TRUE(mentions(refusal(tiny_json("", "", "null", R"([{"id": 300, "content": "<|endoftext|>", "special": true}])")),
                       "would give it 259"));
  // A byte with no token of its own cannot be encoded.
  const std::string json =
      R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "model": {"vocab": {"a": 0}, "merges": []}})";
  const BpeTokenizer only_a(read_hf_tokenizer_json(json, "t"));
  EXPECT_EQ(only_a.encode("aa"), std::vector<int32_t>({0, 0}));
  EXPECT_TRUE(mentions(error_text([&] { only_a.encode("ab"); }), "no token for byte 0x62"));
}

TEST(BpeFiles, Gpt2FilesAreFoundBesideEachOtherAndNamedWhenMissing) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("g"));
  std::filesystem::copy_file(testing::bpe_fixture("gpt2/encoder.json"), dir.file("g/encoder.json"));
  EXPECT_TRUE(mentions(error_text([&] { load_bpe_tokenizer(dir.file("g")); }), "vocab.bpe: not found"));
  testing::write_text(dir.file("g/vocab.bpe"), "#version: 0.2\nĠ t\nbad line here\n");
  EXPECT_TRUE(mentions(error_text([&] { load_bpe_tokenizer(dir.file("g/encoder.json")); }), "vocab.bpe:3: expected a merge"));
  testing::write_text(dir.file("g/vocab.bpe"), "#version: 0.2\nĠ t\n");
  EXPECT_EQ(load_bpe_tokenizer(dir.file("g/vocab.bpe")).encode(" t"), std::vector<int32_t>({256}));
  EXPECT_TRUE(mentions(error_text([&] { load_bpe_tokenizer(dir.file("empty")); }), "cannot open"));
  std::filesystem::create_directories(dir.file("none"));
  EXPECT_TRUE(mentions(error_text([&] { load_bpe_tokenizer(dir.file("none")); }), "neither tokenizer.json nor"));
}

}  // namespace
}  // namespace krait::data
