// tests/data/test_bpe_unicode.cpp — the Unicode pieces of byte-level BPE: character classes, NFC
// (expected values from Python's unicodedata, the source of the tables), and the pre-tokenizers'
// pieces on hand-checked examples.
#include <gtest/gtest.h>

#include "data/bpe_pretokenizer.h"
#include "data/bpe_unicode.h"

namespace krait::data {
namespace {

std::vector<std::string> pieces(SplitPattern pattern, std::string_view text) {
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size();) {
    const size_t end = piece_end(pattern, text, at);
    out.emplace_back(text.substr(at, end - at));
    at = end;
  }
  return out;
}

using Pieces = std::vector<std::string>;

TEST(BpeUnicode, CharacterClasses) {
  EXPECT_EQ(char_class('a'), CharClass::Letter);
  EXPECT_EQ(char_class(U'\u00e9'), CharClass::Letter);
  EXPECT_EQ(char_class(U'\u4e2d'), CharClass::Letter);
  EXPECT_EQ(char_class(U'\U0001D49C'), CharClass::Letter);  // mathematical script A
  EXPECT_EQ(char_class('7'), CharClass::Number);
  EXPECT_EQ(char_class(U'\u00bd'), CharClass::Number);       // No
  EXPECT_EQ(char_class(U'\u216b'), CharClass::Number);       // Nl
  EXPECT_EQ(char_class(U'\u3000'), CharClass::Space);
  EXPECT_EQ(char_class(U'\u0085'), CharClass::Space);
  EXPECT_EQ(char_class(0x1c), CharClass::Other);             // Python's isspace, but not White_Space
  EXPECT_EQ(char_class(U'\u200b'), CharClass::Other);
  EXPECT_EQ(char_class(U'\u0301'), CharClass::Other);        // a mark
  EXPECT_EQ(char_class(U'\U0001F600'), CharClass::Other);
  EXPECT_STREQ(unicode_version(), "14.0.0");
}

TEST(BpeUnicode, Utf8DecodingTakesInvalidBytesOneByOne) {
  EXPECT_EQ(decode_utf8("\xc3\xa9", 0).code, U'\u00e9');
  EXPECT_EQ(decode_utf8("\xf0\x9f\x98\x80", 0).length, 4u);
  for (const std::string_view bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\x80"}) {
    const Utf8Char c = decode_utf8(bad, 0);
    EXPECT_EQ(c.code, Utf8Char::kInvalidCode);
    EXPECT_EQ(c.length, 1u);
  }
}

TEST(BpeUnicode, NfcAsPythonsUnicodedata) {
  const std::pair<std::string, std::string> cases[] = {
      {"e\u0301", "\u00e9"},                     // composes
      {"\u212b", "\u00c5"},                      // singleton (Angstrom sign)
      {"\u1e9b\u0323", "\u1e9b\u0323"},          // long s with dot above, dot below: stays
      {"a\u0328\u0301", "\u0105\u0301"},         // ogonek composes first
      {"a\u0301\u0328", "\u0105\u0301"},         // ... whatever the order (canonical reordering)
      {"\u1112\u1161\u11ab", "\ud55c"},          // Hangul jamo -> syllable
      {"\ud55c\u11a8", "\ud55c\u11a8"},          // a syllable with a final does not take another
      {"\u0958", "\u0915\u093c"},                // composition exclusion
      {"\u0f73", "\u0f71\u0f72"},
      {"\u0344", "\u0308\u0301"},
      {"\u0b47\u0b3e", "\u0b4b"},                // two starters compose
      {"\u00e9\u0301", "\u00e9\u0301"},
      {"\u0301e", "\u0301e"},
      {"A\u030a\u0323", "\u1ea0\u030a"},
      {"plain ASCII", "plain ASCII"},
      {"x\xff\u0301", "x\xff\u0301"},           // an invalid byte composes with nothing
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(to_nfc(in), out) << in;
}

TEST(BpePretokenizer, Gpt2Pieces) {
  const SplitPattern p = SplitPattern::Gpt2;
  EXPECT_EQ(pieces(p, "Hello, world!"), Pieces({"Hello", ",", " world", "!"}));
  EXPECT_EQ(pieces(p, "I'm  here\n\n x"), Pieces({"I", "'m", " ", " here", "\n\n", " x"}));
  EXPECT_EQ(pieces(p, "It'S 12345 ab12"), Pieces({"It", "'", "S", " 12345", " ab", "12"}));
  EXPECT_EQ(pieces(p, "x   "), Pieces({"x", "   "}));
  EXPECT_EQ(pieces(p, "\tx"), Pieces({"\t", "x"}));
  EXPECT_EQ(pieces(p, " \xe4\xb8\xad\xe6\x96\x87!!"), Pieces({" \xe4\xb8\xad\xe6\x96\x87", "!!"}));
}

TEST(BpePretokenizer, Llama3Pieces) {
  const SplitPattern p = SplitPattern::Llama3;
  EXPECT_EQ(pieces(p, "It'S 12345 ab12"), Pieces({"It", "'S", " ", "123", "45", " ab", "12"}));
  EXPECT_EQ(pieces(p, "'hello \tworld"), Pieces({"'hello", " ", "\tworld"}));
  EXPECT_EQ(pieces(p, "a.\n\n  b"), Pieces({"a", ".\n\n", " ", " b"}));
  EXPECT_EQ(pieces(p, "x \n \n  y"), Pieces({"x", " \n \n", " ", " y"}));
  EXPECT_EQ(pieces(p, "'\xc5\xbf'LL"), Pieces({"'\xc5\xbf", "'LL"}));  // long s folds to s
  EXPECT_EQ(pieces(p, "x   "), Pieces({"x", "   "}));
}

TEST(BpePretokenizer, KnownPatternsAreRecognizedExactly) {
  EXPECT_EQ(split_pattern_of(split_pattern_regex(SplitPattern::Gpt2)), SplitPattern::Gpt2);
  EXPECT_EQ(split_pattern_of(split_pattern_regex(SplitPattern::Llama3)), SplitPattern::Llama3);
  EXPECT_EQ(split_pattern_of("\\s+"), std::nullopt);
}

}  // namespace
}  // namespace krait::data
