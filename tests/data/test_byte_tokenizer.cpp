// tests/data/test_byte_tokenizer.cpp — byte-level tokenization of UTF-8 text.
#include <gtest/gtest.h>

#include "data/byte_tokenizer.h"
#include "tests/data/error_text.h"

namespace krait::data {
namespace {

TEST(ByteTokenizer, RoundTripsMultibyteUtf8) {
  const ByteTokenizer tokenizer;
  const std::string text = "In the beginning — Ἐν ἀρχῇ, 太初, בְּרֵאשִׁית 🌍\n";
  const auto ids = tokenizer.encode(text);
  EXPECT_EQ(ids.size(), text.size());  // one id per byte, not per character
  for (int32_t id : ids) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, 256);
  }
  EXPECT_EQ(tokenizer.decode(ids), text);
}

TEST(ByteTokenizer, EncodesBytesAsTheirUnsignedValues) {
  const ByteTokenizer tokenizer;
  EXPECT_EQ(tokenizer.encode("A\xc3\xa9"), (std::vector<int32_t>{65, 0xc3, 0xa9}));
  EXPECT_EQ(tokenizer.encode(std::string_view("\0\xff", 2)), (std::vector<int32_t>{0, 255}));
  EXPECT_TRUE(tokenizer.encode("").empty());
}

TEST(ByteTokenizer, EndOfTextDecodesToItsMarker) {
  const ByteTokenizer tokenizer;
  EXPECT_EQ(ByteTokenizer::kVocabSize, 257u);
  const std::vector<int32_t> ids = {104, 105, ByteTokenizer::kEndOfText, 121, 111};
  EXPECT_EQ(tokenizer.decode(ids), "hi<|eot|>yo");
}

TEST(ByteTokenizer, DecodeRejectsIdsOutsideTheVocab) {
  const ByteTokenizer tokenizer;
  const std::vector<int32_t> ids = {104, 257};
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { tokenizer.decode(ids); }),
                                "id 257 at position 1 is outside the vocabulary [0, 257)"));
}

}  // namespace
}  // namespace krait::data
