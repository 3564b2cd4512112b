// tests/data/test_token_shard.cpp — binary token shards: round trips and every rejected file.
#include <gtest/gtest.h>

#include <cstring>

#include "data/token_shard.h"
#include "tests/data/error_text.h"
#include "tests/data/temp_dir.h"

namespace krait::data {
namespace {

using testing::counting_ids;
using testing::error_text;
using testing::mentions;

std::vector<int32_t> read_all(const TokenSource& source) {
  std::vector<int32_t> ids(source.size());
  source.read(0, ids.size(), ids.data());
  return ids;
}

TEST(TokenShard, RoundTripsUint16) {
  testing::TempDir dir;
  const auto ids = counting_ids(1000, 257);
  write_token_shard(dir.file("a.bin"), ids, 257, 2);
  TokenShardFile shard(dir.file("a.bin"));
  EXPECT_EQ(shard.size(), 1000u);
  EXPECT_EQ(shard.vocab_size(), 257u);
  EXPECT_EQ(shard.bytes_per_token(), 2u);
  EXPECT_EQ(shard.path(), dir.file("a.bin"));
  EXPECT_EQ(read_all(shard), ids);
  EXPECT_EQ(std::filesystem::file_size(dir.file("a.bin")), kTokenShardHeaderBytes + 2000);
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.bin.tmp")));
}

TEST(TokenShard, RoundTripsUint32) {
  testing::TempDir dir;
  std::vector<int32_t> ids = {0, 70000, 99999, 5, 65536};
  write_token_shard(dir.file("a.bin"), ids, 100000, 4);
  const auto source = open_tokens(dir.file("a.bin"));
  EXPECT_EQ(source->vocab_size(), 100000u);
  EXPECT_EQ(read_all(*source), ids);
  std::vector<int32_t> middle(2);
  source->read(1, 2, middle.data());
  EXPECT_EQ(middle, (std::vector<int32_t>{70000, 99999}));
}

TEST(TokenShard, HeaderBytesMatchTheFormat) {
  testing::TempDir dir;
  write_token_shard(dir.file("a.bin"), std::vector<int32_t>{1, 2, 3}, 300, 2);
  const auto bytes = testing::read_bytes(dir.file("a.bin"));
  ASSERT_EQ(bytes.size(), 38u);
  const unsigned char expected[32] = {'K', 'R', 'A', 'I', 'T', 'T', 'O', 'K', 1, 0, 0, 0, 2, 0, 0, 0,
                                      3,   0,   0,   0,   0,   0,   0,   0,   44, 1, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(std::memcmp(bytes.data(), expected, 32), 0);
  EXPECT_EQ(bytes[32], 1);
  EXPECT_EQ(bytes[34], 2);
}

TEST(TokenShard, EmptyShardOpens) {
  testing::TempDir dir;
  write_tokens(dir.file("empty.bin"), {}, 257);
  EXPECT_EQ(open_tokens(dir.file("empty.bin"))->size(), 0u);
}

TEST(TokenShard, WriteTokensPicksTheWidthFromTheVocab) {
  testing::TempDir dir;
  write_tokens(dir.file("small.bin"), std::vector<int32_t>{1}, 65536);
  write_tokens(dir.file("large.bin"), std::vector<int32_t>{1}, 65537);
  EXPECT_EQ(TokenShardFile(dir.file("small.bin")).bytes_per_token(), 2u);
  EXPECT_EQ(TokenShardFile(dir.file("large.bin")).bytes_per_token(), 4u);
}

// A valid 10-token shard whose bytes a test then breaks.
std::vector<char> good_shard_bytes(const testing::TempDir& dir) {
  write_token_shard(dir.file("good.bin"), counting_ids(10, 257), 257, 2);
  return testing::read_bytes(dir.file("good.bin"));
}

std::string open_error(const std::string& path) {
  return error_text([&] { TokenShardFile shard(path); });
}

TEST(TokenShardErrors, MissingFile) {
  testing::TempDir dir;
  const std::string message = open_error(dir.file("absent.bin"));
  EXPECT_TRUE(mentions(message, dir.file("absent.bin")));
  EXPECT_TRUE(mentions(message, "cannot open"));
}

TEST(TokenShardErrors, FileShorterThanTheHeader) {
  testing::TempDir dir;
  auto bytes = good_shard_bytes(dir);
  bytes.resize(20);
  testing::write_bytes(dir.file("short.bin"), bytes);
  const std::string message = open_error(dir.file("short.bin"));
  EXPECT_TRUE(mentions(message, dir.file("short.bin")));
  EXPECT_TRUE(mentions(message, "20 bytes, shorter than the 32-byte"));
  testing::write_bytes(dir.file("zero.bin"), {});
  EXPECT_TRUE(mentions(open_error(dir.file("zero.bin")), "0 bytes, shorter"));
}

TEST(TokenShardErrors, WrongMagic) {
  testing::TempDir dir;
  auto bytes = good_shard_bytes(dir);
  std::memcpy(bytes.data(), "GPT2TOK\x01", 8);
  testing::write_bytes(dir.file("magic.bin"), bytes);
  const std::string message = open_error(dir.file("magic.bin"));
  EXPECT_TRUE(mentions(message, dir.file("magic.bin")));
  EXPECT_TRUE(mentions(message, "expected magic \"KRAITTOK\", found \"GPT2TOK\\x01\""));
}

TEST(TokenShardErrors, UnknownVersion) {
  testing::TempDir dir;
  auto bytes = good_shard_bytes(dir);
  bytes[8] = 7;
  testing::write_bytes(dir.file("version.bin"), bytes);
  const std::string message = open_error(dir.file("version.bin"));
  EXPECT_TRUE(mentions(message, dir.file("version.bin")));
  EXPECT_TRUE(mentions(message, "unknown token shard version 7"));
}

TEST(TokenShardErrors, BadTokenWidth) {
  testing::TempDir dir;
  auto bytes = good_shard_bytes(dir);
  bytes[12] = 3;
  testing::write_bytes(dir.file("width.bin"), bytes);
  const std::string message = open_error(dir.file("width.bin"));
  EXPECT_TRUE(mentions(message, dir.file("width.bin")));
  EXPECT_TRUE(mentions(message, "bytes per token must be 2 (uint16) or 4 (uint32), found 3"));
}

TEST(TokenShardErrors, NonzeroReservedField) {
  testing::TempDir dir;
  auto bytes = good_shard_bytes(dir);
  bytes[28] = 1;
  testing::write_bytes(dir.file("reserved.bin"), bytes);
  EXPECT_TRUE(mentions(open_error(dir.file("reserved.bin")), "reserved header field must be 0, found 1"));
}

TEST(TokenShardErrors, TruncatedFile) {
  testing::TempDir dir;
  auto bytes = good_shard_bytes(dir);
  bytes.resize(bytes.size() - 3);
  testing::write_bytes(dir.file("cut.bin"), bytes);
  const std::string message = open_error(dir.file("cut.bin"));
  EXPECT_TRUE(mentions(message, dir.file("cut.bin")));
  EXPECT_TRUE(mentions(message, "truncated: expected 52 bytes, found 49"));
}

TEST(TokenShardErrors, TrailingBytes) {
  testing::TempDir dir;
  auto bytes = good_shard_bytes(dir);
  bytes.push_back(0);
  testing::write_bytes(dir.file("long.bin"), bytes);
  EXPECT_TRUE(mentions(open_error(dir.file("long.bin")), "trailing data: expected 52 bytes, found 53"));
}

TEST(TokenShardErrors, IdAtOrAboveVocab) {
  testing::TempDir dir;
  auto bytes = good_shard_bytes(dir);
  const uint16_t bad = 257;
  std::memcpy(bytes.data() + 32 + 2 * 6, &bad, 2);  // token 6
  testing::write_bytes(dir.file("id.bin"), bytes);
  const std::string message = open_error(dir.file("id.bin"));
  EXPECT_TRUE(mentions(message, dir.file("id.bin")));
  EXPECT_TRUE(mentions(message, "token id 257 at position 6 is outside the vocabulary [0, 257)"));
}

TEST(TokenShardErrors, ReadPastTheEnd) {
  testing::TempDir dir;
  good_shard_bytes(dir);
  TokenShardFile shard(dir.file("good.bin"));
  std::vector<int32_t> out(5);
  const std::string message = error_text([&] { shard.read(8, 5, out.data()); });
  EXPECT_TRUE(mentions(message, dir.file("good.bin")));
  EXPECT_TRUE(mentions(message, "read of 5 tokens at 8 passes the end (10 tokens)"));
}

TEST(TokenShardErrors, WriterRejectsIdsOutsideTheVocab) {
  testing::TempDir dir;
  const std::string path = dir.file("w.bin");
  EXPECT_TRUE(mentions(error_text([&] { write_token_shard(path, std::vector<int32_t>{1, 300}, 257, 2); }),
                       "token id 300 at position 1"));
  EXPECT_TRUE(mentions(error_text([&] { write_token_shard(path, std::vector<int32_t>{-1}, 257, 2); }),
                       "token id -1 at position 0"));
  EXPECT_TRUE(mentions(error_text([&] { write_token_shard(path, std::vector<int32_t>{1}, 70000, 2); }),
                       "vocab_size 70000 does not fit in 2-byte tokens"));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(TokenSource, CheckVocabFits) {
  testing::TempDir dir;
  write_tokens(dir.file("a.bin"), std::vector<int32_t>{1, 256}, 257);
  const auto source = open_tokens(dir.file("a.bin"));
  check_vocab_fits(*source, 257);
  check_vocab_fits(*source, 512);
  const std::string message = error_text([&] { check_vocab_fits(*source, 256); });
  EXPECT_TRUE(mentions(message, dir.file("a.bin")));
  EXPECT_TRUE(mentions(message, "vocab_size 257 but the model's vocab_size is 256"));
}

}  // namespace
}  // namespace krait::data
