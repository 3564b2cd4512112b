// tests/data/test_text_shards.cpp — converting text files into train and valid shards, including
// the shipped corpus.
#include <gtest/gtest.h>

#include "data/byte_tokenizer.h"
#include "data/text_shards.h"
#include "data/token_source.h"
#include "tests/data/error_text.h"
#include "tests/data/temp_dir.h"

namespace krait::data {
namespace {

std::string decode_all(const TokenSource& source) {
  std::vector<int32_t> ids(source.size());
  source.read(0, ids.size(), ids.data());
  return ByteTokenizer().decode(ids);
}

TEST(ValidSplitPoint, MovesForwardToTheNextLineStart) {
  const std::string text = "line one\nline two\nline three\n";  // 29 bytes
  EXPECT_EQ(valid_split_point(text, 0.0), text.size());
  EXPECT_EQ(valid_split_point(text, 0.4), 18u);  // nominal 17 is inside "line two\n"
  EXPECT_EQ(valid_split_point(text, 1.0 - 9.0 / 29.0), 9u);  // nominal 9 is already a line start
}

TEST(ValidSplitPoint, WithoutANewlineStopsOnACharacterBoundary) {
  const std::string text = "aaaaé";  // é is 2 bytes: 0xc3 0xa9
  EXPECT_EQ(valid_split_point(text, 1.0 / 6.0), 6u);  // nominal 5 would split é
  EXPECT_EQ(valid_split_point("abcdef", 0.5), 3u);
}

TEST(TextShards, SplitsEachFileAndSeparatesDocuments) {
  testing::TempDir dir;
  const std::string a = "alpha one\nalpha two\nalpha three\nalpha four\n";  // 43 bytes
  const std::string b = "beta: ünïcödé line\nbeta two\nbeta three\n";  // 43 bytes
  testing::write_text(dir.file("a.txt"), a);
  testing::write_text(dir.file("b.txt"), b);
  const auto counts = text_files_to_shards({dir.file("a.txt"), dir.file("b.txt")}, dir.file("out"), 0.25,
                                           ShardFormat::binary);
  EXPECT_EQ(counts.train_path, dir.file("out") + "/train.bin");
  EXPECT_EQ(counts.valid_path, dir.file("out") + "/valid.bin");

  const std::string expected_train =
      "alpha one\nalpha two\nalpha three\n<|eot|>beta: ünïcödé line\nbeta two\n<|eot|>";
  const std::string expected_valid = "alpha four\n<|eot|>beta three\n<|eot|>";
  const auto train = open_tokens(counts.train_path);
  const auto valid = open_tokens(counts.valid_path);
  EXPECT_EQ(decode_all(*train), expected_train);
  EXPECT_EQ(decode_all(*valid), expected_valid);
  EXPECT_EQ(train->vocab_size(), 257u);
  EXPECT_EQ(counts.train_tokens, train->size());
  EXPECT_EQ(counts.valid_tokens, valid->size());
  EXPECT_EQ(counts.train_tokens + counts.valid_tokens, a.size() + b.size() + 4);  // + 4 end-of-text
}

TEST(TextShards, WritesHdf5) {
  testing::TempDir dir;
  testing::write_text(dir.file("a.txt"), "one\ntwo\n");
  const auto counts = text_files_to_shards({dir.file("a.txt")}, dir.file("out"), 0.5, ShardFormat::hdf5);
  EXPECT_EQ(counts.train_path, dir.file("out") + "/train.h5");
  EXPECT_EQ(decode_all(*open_tokens(counts.train_path)), "one\n<|eot|>");
  EXPECT_EQ(decode_all(*open_tokens(counts.valid_path)), "two\n<|eot|>");
}

TEST(TextShards, RejectsBadInput) {
  testing::TempDir dir;
  EXPECT_TRUE(testing::mentions(testing::error_text([&] {
                                  text_files_to_shards({dir.file("absent.txt")}, dir.file("out"), 0.1,
                                                       ShardFormat::binary);
                                }),
                                dir.file("absent.txt") + ": cannot open"));
  testing::write_text(dir.file("a.txt"), "x\n");
  EXPECT_TRUE(testing::mentions(testing::error_text([&] {
                                  text_files_to_shards({dir.file("a.txt")}, dir.file("out"), 1.0, ShardFormat::binary);
                                }),
                                "valid fraction must be in [0, 1), found 1"));
}

// These used to write 0-token shards and succeed.
TEST(TextShards, RejectsADirectoryAndEmptyInput) {
  testing::TempDir dir;
  const auto convert = [&](const std::vector<std::string>& files, double valid_fraction) {
    return testing::error_text([&] { text_files_to_shards(files, dir.file("out"), valid_fraction, ShardFormat::binary); });
  };
  EXPECT_TRUE(testing::mentions(convert({dir.path()}, 0.1), dir.path() + ": is a directory"));
  testing::write_text(dir.file("empty.txt"), "");
  testing::write_text(dir.file("empty2.txt"), "");
  EXPECT_TRUE(testing::mentions(convert({dir.file("empty.txt")}, 0.1), "no text: the 1 input file is empty"));
  EXPECT_TRUE(testing::mentions(convert({dir.file("empty.txt"), dir.file("empty2.txt")}, 0.1),
                                "no text: the 2 input files are empty"));
  testing::write_text(dir.file("x.txt"), "x");
  EXPECT_TRUE(testing::mentions(convert({dir.file("x.txt")}, 0.9), "the validation tail took all of it"));
}

TEST(TextShards, TextFilesInADirectoryComeSortedWithoutHiddenOnes) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("sub"));
  std::filesystem::create_directories(dir.file(".git"));
  for (const char* name : {"b.txt", "a.txt", "sub/c.txt", ".hidden", ".git/config"})
    testing::write_text(dir.file(name), "t\n");
  EXPECT_EQ(text_files_in(dir.path()),
            (std::vector<std::string>{dir.file("a.txt"), dir.file("b.txt"), dir.file("sub/c.txt")}));
  std::filesystem::create_directories(dir.file("none/.x"));
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { text_files_in(dir.file("none")); }),
                                dir.file("none") + ": a directory with no files to read"));
}

TEST(TextShards, ShippedCorpusConverts) {
  testing::TempDir dir;
  const std::string corpus = KRAIT_CORPUS_FILE;
  const auto size = std::filesystem::file_size(corpus);
  EXPECT_GT(size, 1'000'000u);
  EXPECT_LT(size, 1'600'000u);
  const auto counts = text_files_to_shards({corpus}, dir.file("out"), 0.05, ShardFormat::binary);
  EXPECT_EQ(counts.train_tokens + counts.valid_tokens, size + 2);
  EXPECT_NEAR(static_cast<double>(counts.valid_tokens) / static_cast<double>(size), 0.05, 0.001);
}

}  // namespace
}  // namespace krait::data
