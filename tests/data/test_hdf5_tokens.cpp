// tests/data/test_hdf5_tokens.cpp — token arrays in HDF5: round trips, chunked validation, and the
// files the reader rejects (built directly with the HDF5 C API).
#include <gtest/gtest.h>
#include <hdf5.h>

#include "data/hdf5_tokens.h"
#include "data/token_shard.h"
#include "tests/data/error_text.h"
#include "tests/data/temp_dir.h"

namespace krait::data {
namespace {

using testing::counting_ids;
using testing::error_text;
using testing::mentions;

// Writes a /tokens dataset of the given stored type and shape from uint32 values (no values: never
// written), with a vocab_size attribute unless vocab_size is 0.
void write_raw(const std::string& path, hid_t stored_type, const std::vector<hsize_t>& dims,
               const std::vector<uint32_t>& values, uint32_t vocab_size) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t dataset = H5Dcreate2(file, "tokens", stored_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (!values.empty()) H5Dwrite(dataset, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  if (vocab_size != 0) {
    const hid_t scalar = H5Screate(H5S_SCALAR);
    const hid_t attribute = H5Acreate2(dataset, "vocab_size", H5T_STD_U32LE, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attribute, H5T_NATIVE_UINT32, &vocab_size);
    H5Aclose(attribute);
    H5Sclose(scalar);
  }
  H5Dclose(dataset);
  H5Sclose(space);
  H5Fclose(file);
}

std::vector<int32_t> read_all(const TokenSource& source) {
  std::vector<int32_t> ids(source.size());
  source.read(0, ids.size(), ids.data());
  return ids;
}

TEST(Hdf5Tokens, PicksTheFormatByExtension) {
  EXPECT_TRUE(is_hdf5_path("a/train.h5"));
  EXPECT_TRUE(is_hdf5_path("train.hdf5"));
  EXPECT_FALSE(is_hdf5_path("train.bin"));
  EXPECT_FALSE(is_hdf5_path("h5"));
}

TEST(Hdf5Tokens, RoundTripsUint16) {
  testing::TempDir dir;
  const auto ids = counting_ids(5000, 257);
  write_token_hdf5(dir.file("a.h5"), ids, 257, 2);
  const auto source = open_tokens(dir.file("a.h5"));
  ASSERT_NE(dynamic_cast<Hdf5TokenFile*>(source.get()), nullptr);
  EXPECT_EQ(dynamic_cast<Hdf5TokenFile&>(*source).bytes_per_token(), 2u);
  EXPECT_EQ(source->size(), 5000u);
  EXPECT_EQ(source->vocab_size(), 257u);
  EXPECT_EQ(read_all(*source), ids);
  std::vector<int32_t> slice(3);
  source->read(4000, 3, slice.data());
  EXPECT_EQ(slice, (std::vector<int32_t>{ids[4000], ids[4001], ids[4002]}));
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.h5.tmp")));
}

TEST(Hdf5Tokens, RoundTripsUint32) {
  testing::TempDir dir;
  const std::vector<int32_t> ids = {0, 70000, 99999, 5};
  write_tokens(dir.file("a.hdf5"), ids, 100000);
  Hdf5TokenFile source(dir.file("a.hdf5"));
  EXPECT_EQ(source.bytes_per_token(), 4u);
  EXPECT_EQ(read_all(source), ids);
}

TEST(Hdf5Tokens, EmptyDatasetOpens) {
  testing::TempDir dir;
  write_tokens(dir.file("empty.h5"), {}, 257);
  EXPECT_EQ(open_tokens(dir.file("empty.h5"))->size(), 0u);
}

TEST(Hdf5Tokens, ScansPastTheFirstChunkAndNamesTheBadPosition) {
  testing::TempDir dir;
  std::vector<uint32_t> values(1'500'000, 7);
  values[1'234'567] = 300;
  write_raw(dir.file("big.h5"), H5T_STD_U16LE, {values.size()}, values, 257);
  const std::string message = error_text([&] { Hdf5TokenFile source(dir.file("big.h5")); });
  EXPECT_TRUE(mentions(message, dir.file("big.h5")));
  EXPECT_TRUE(mentions(message, "token id 300 at position 1234567 is outside the vocabulary [0, 257)"));
}

TEST(Hdf5Tokens, ReportsLargeUint32IdsUnclamped) {
  testing::TempDir dir;
  write_raw(dir.file("big_id.h5"), H5T_STD_U32LE, {2}, {1, 4000000000u}, 100000);
  EXPECT_TRUE(mentions(error_text([&] { Hdf5TokenFile source(dir.file("big_id.h5")); }),
                       "token id 4000000000 at position 1"));
}

TEST(Hdf5TokensErrors, NotAnHdf5File) {
  testing::TempDir dir;
  testing::write_text(dir.file("text.h5"), "hello, not hdf5");
  const std::string message = error_text([&] { Hdf5TokenFile source(dir.file("text.h5")); });
  EXPECT_TRUE(mentions(message, dir.file("text.h5")));
  EXPECT_TRUE(mentions(message, "cannot open as HDF5"));
  EXPECT_TRUE(mentions(error_text([&] { Hdf5TokenFile source(dir.file("absent.h5")); }), "no such file"));
}

TEST(Hdf5TokensErrors, MissingDataset) {
  testing::TempDir dir;
  H5Fclose(H5Fcreate(dir.file("bare.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  const std::string message = error_text([&] { Hdf5TokenFile source(dir.file("bare.h5")); });
  EXPECT_TRUE(mentions(message, dir.file("bare.h5")));
  EXPECT_TRUE(mentions(message, "no /tokens dataset"));
}

TEST(Hdf5TokensErrors, MissingVocabAttribute) {
  testing::TempDir dir;
  write_raw(dir.file("novocab.h5"), H5T_STD_U16LE, {3}, {1, 2, 3}, 0);
  EXPECT_TRUE(mentions(error_text([&] { Hdf5TokenFile source(dir.file("novocab.h5")); }),
                       "/tokens has no vocab_size attribute"));
}

TEST(Hdf5TokensErrors, SignedOrWideTypes) {
  testing::TempDir dir;
  write_raw(dir.file("signed.h5"), H5T_STD_I32LE, {3}, {1, 2, 3}, 257);
  EXPECT_TRUE(mentions(error_text([&] { Hdf5TokenFile source(dir.file("signed.h5")); }),
                       "must hold uint16 or uint32, found a 4-byte signed integer"));
  write_raw(dir.file("wide.h5"), H5T_STD_U64LE, {3}, {1, 2, 3}, 257);
  EXPECT_TRUE(mentions(error_text([&] { Hdf5TokenFile source(dir.file("wide.h5")); }),
                       "found a 8-byte unsigned integer"));
}

TEST(Hdf5TokensErrors, TwoDimensionalDataset) {
  testing::TempDir dir;
  write_raw(dir.file("2d.h5"), H5T_STD_U16LE, {2, 2}, {1, 2, 3, 4}, 257);
  EXPECT_TRUE(mentions(error_text([&] { Hdf5TokenFile source(dir.file("2d.h5")); }),
                       "/tokens must be 1-D, found rank 2"));
}

// Found by fuzz/hdf5_tokens.cpp: HDF5 reads unwritten elements as the fill value, so a few-KB file
// declaring 2^31 tokens that were never written opened as 2^31 zeros and the validation scan read
// them all. The reader now refuses a dataset that is not stored in full.
TEST(Hdf5TokensErrors, TokensDeclaredButNeverWritten) {
  testing::TempDir dir;
  const std::string path = dir.file("unwritten.h5");
  write_raw(path, H5T_STD_U16LE, {hsize_t{1} << 31}, {}, 257);
  const std::string message = error_text([&] { Hdf5TokenFile file(path); });
  EXPECT_TRUE(mentions(message, path + ": /tokens declares 2147483648 elements but the file stores none")) << message;
}

TEST(Hdf5TokensErrors, ReadPastTheEnd) {
  testing::TempDir dir;
  write_tokens(dir.file("a.h5"), counting_ids(10, 257), 257);
  Hdf5TokenFile source(dir.file("a.h5"));
  std::vector<int32_t> out(5);
  EXPECT_TRUE(mentions(error_text([&] { source.read(6, 5, out.data()); }), "passes the end (10 tokens)"));
}

}  // namespace
}  // namespace krait::data
