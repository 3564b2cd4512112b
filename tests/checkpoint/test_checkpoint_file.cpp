// tests/checkpoint/test_checkpoint_file.cpp — CheckpointWriter/CheckpointReader: round trips of every
// kind of entry, listing, read_into checks, atomic writes, and the files the reader rejects.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "tests/checkpoint/test_util.h"
#include "train/checkpoint_file.h"

namespace krait {
namespace {

using checkpoint_testing::error_text;
using checkpoint_testing::mentions;
using checkpoint_testing::TempDir;
using checkpoint_testing::write_text;

const char* const kYaml =
    "model:\n"
    "  d_model: 256\n"
    "  n_layers: 4   # comment\n"
    "train:\n"
    "  lr: 3.0e-4\n"
    "  name: \"caf\xc3\xa9\"\n";

// A small checkpoint with entries under model/, optim/ and state/.
void write_small(const std::string& path) {
  CheckpointWriter writer;
  writer.put_tensor("model/layers.0.mixer.A_log", Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
                                                                      {3, 4}, DType::F32));
  writer.put_tensor("model/embedding.weight", Tensor::from_vector({0.5, -0.5}, {2}, DType::F32));
  writer.put_tensor("optim/exp_avg/embedding.weight", Tensor::from_vector({0.25, 0.75}, {2}, DType::F32));
  writer.put_int("optim/step", 7);
  writer.put_int("state/step", 123);
  writer.write(path);
}

// An HDF5 file with the given root attributes (an empty format means no format attribute).
void write_foreign(const std::string& path, const std::string& format, int64_t version) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t scalar = H5Screate(H5S_SCALAR);
  if (!format.empty()) {
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    const hid_t attribute = H5Acreate2(file, "format", type, scalar, H5P_DEFAULT, H5P_DEFAULT);
    const char* text = format.c_str();
    H5Awrite(attribute, type, &text);
    H5Aclose(attribute);
    H5Tclose(type);
  }
  const hid_t attribute = H5Acreate2(file, "version", H5T_STD_I64LE, scalar, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attribute, H5T_NATIVE_INT64, &version);
  H5Aclose(attribute);
  H5Sclose(scalar);
  H5Fclose(file);
}

TEST(CheckpointFile, RoundTripsEveryKindOfEntry) {
  TempDir dir;
  const std::string path = dir.file("a.h5");
  const double big = 1.0e300, tiny = 0.1;
  const std::vector<uint64_t> rng{0, 1, std::numeric_limits<uint64_t>::max(), 0x9E3779B97F4A7C15ull};
  {
    CheckpointWriter writer;
    writer.put_tensor("t/f32", Tensor::from_vector({1.5, -2.25, 3.0e-8, 4, 5, 6}, {2, 3}, DType::F32));
    writer.put_tensor("t/f64", Tensor::from_vector({tiny, -big, 1.0 / 3.0}, {3}, DType::F64));
    writer.put_tensor("t/bf16", Tensor::from_vector({1.5, -2.25, 0.0078125, 384}, {2, 2}, DType::BF16));
    writer.put_tensor("t/i64", Tensor::from_indices({-1, 0, int64_t{1} << 40}, {3}));
    writer.put_tensor("t/i32", Tensor::from_indices({-7, 9}, {2}, DType::I32));
    writer.put_tensor("t/scalar_f32", Tensor::from_vector({2.5}, {}, DType::F32));
    writer.put_tensor("t/scalar_i64", Tensor::from_indices({42}, {}));
    writer.put_tensor("t/empty", Tensor::zeros({0, 5}, DType::F32));
    writer.put_int("v/int", -1234567890123LL);
    writer.put_double("v/double", tiny);
    writer.put_u64s("v/rng", rng);
    writer.put_u64s("v/no_u64s", {});
    writer.put_string("v/recipe", kYaml);
    writer.put_string("v/empty_string", "");
    writer.write(path);
  }
  const CheckpointReader reader(path);

  const Tensor f32 = reader.tensor("t/f32");
  EXPECT_EQ(f32.dtype(), DType::F32);
  EXPECT_EQ(f32.shape(), (Shape{2, 3}));
  EXPECT_EQ(f32.to_doubles(), Tensor::from_vector({1.5, -2.25, 3.0e-8, 4, 5, 6}, {2, 3}, DType::F32).to_doubles());
  const Tensor f64 = reader.tensor("t/f64");
  EXPECT_EQ(f64.dtype(), DType::F64);
  EXPECT_EQ(f64.to_doubles(), (std::vector<double>{tiny, -big, 1.0 / 3.0}));
  const Tensor bf16 = reader.tensor("t/bf16");
  EXPECT_EQ(bf16.dtype(), DType::BF16);
  EXPECT_EQ(bf16.shape(), (Shape{2, 2}));
  EXPECT_EQ(bf16.to_doubles(), (std::vector<double>{1.5, -2.25, 0.0078125, 384}));
  const Tensor i64 = reader.tensor("t/i64");
  EXPECT_EQ(i64.dtype(), DType::I64);
  EXPECT_EQ(std::vector<int64_t>(i64.data<int64_t>(), i64.data<int64_t>() + 3),
            (std::vector<int64_t>{-1, 0, int64_t{1} << 40}));
  const Tensor i32 = reader.tensor("t/i32");
  EXPECT_EQ(i32.dtype(), DType::I32);
  EXPECT_EQ(i32.to_doubles(), (std::vector<double>{-7, 9}));

  const Tensor scalar_f32 = reader.tensor("t/scalar_f32");
  EXPECT_EQ(scalar_f32.shape(), Shape{});
  EXPECT_EQ(scalar_f32.item(), 2.5);
  const Tensor scalar_i64 = reader.tensor("t/scalar_i64");
  EXPECT_EQ(scalar_i64.shape(), Shape{});
  EXPECT_EQ(scalar_i64.dtype(), DType::I64);
  EXPECT_EQ(reader.get_int("t/scalar_i64"), 42);  // a 0-d i64 tensor is an int
  const Tensor empty = reader.tensor("t/empty");
  EXPECT_EQ(empty.shape(), (Shape{0, 5}));
  EXPECT_EQ(empty.dtype(), DType::F32);

  EXPECT_EQ(reader.get_int("v/int"), -1234567890123LL);
  EXPECT_EQ(reader.get_double("v/double"), tiny);
  EXPECT_EQ(reader.get_u64s("v/rng"), rng);
  EXPECT_EQ(reader.get_u64s("v/no_u64s"), std::vector<uint64_t>{});
  EXPECT_EQ(reader.get_string("v/recipe"), kYaml);
  EXPECT_EQ(reader.get_string("v/empty_string"), "");
}

TEST(CheckpointFile, PutTensorTakesACopy) {
  TempDir dir;
  const Tensor t = Tensor::from_vector({1, 2}, {2}, DType::F32);
  CheckpointWriter writer;
  writer.put_tensor("x", t);
  t.data<float>()[0] = 100;
  writer.write(dir.file("a.h5"));
  EXPECT_EQ(CheckpointReader(dir.file("a.h5")).tensor("x").to_doubles(), (std::vector<double>{1, 2}));
}

TEST(CheckpointFile, ListsNamesDirectlyUnderAGroup) {
  TempDir dir;
  write_small(dir.file("a.h5"));
  const CheckpointReader reader(dir.file("a.h5"));
  EXPECT_EQ(reader.list(""), (std::vector<std::string>{"model", "optim", "state"}));
  EXPECT_EQ(reader.list("model"), (std::vector<std::string>{"embedding.weight", "layers.0.mixer.A_log"}));
  EXPECT_EQ(reader.list("optim"), (std::vector<std::string>{"exp_avg", "step"}));
  EXPECT_EQ(reader.list("optim/exp_avg"), (std::vector<std::string>{"embedding.weight"}));
  EXPECT_TRUE(reader.has("model/layers.0.mixer.A_log"));
  EXPECT_TRUE(reader.has("state/step"));
  EXPECT_FALSE(reader.has("model"));  // a group, not an entry
  EXPECT_FALSE(reader.has("model/nope"));
  EXPECT_FALSE(reader.has("nope/deeper/x"));
  EXPECT_FALSE(reader.has("state/step/x"));
  EXPECT_FALSE(reader.has("/state/step"));
  EXPECT_TRUE(mentions(error_text([&] { reader.list("nope"); }), "has no group 'nope'"));
  EXPECT_TRUE(mentions(error_text([&] { reader.list("state/step"); }), "has no group 'state/step'"));
}

TEST(CheckpointFile, ReadIntoCopiesAndConverts) {
  TempDir dir;
  write_small(dir.file("a.h5"));
  const CheckpointReader reader(dir.file("a.h5"));
  const Tensor same = Tensor::zeros({3, 4}, DType::F32);
  reader.read_into("model/layers.0.mixer.A_log", same);
  EXPECT_EQ(same.to_doubles()[11], 12);
  const Tensor narrower = Tensor::zeros({2}, DType::BF16);
  reader.read_into("model/embedding.weight", narrower);
  EXPECT_EQ(narrower.to_doubles(), (std::vector<double>{0.5, -0.5}));
  const Tensor step = Tensor::zeros({}, DType::I32);
  reader.read_into("state/step", step);
  EXPECT_EQ(step.item(), 123);
}

TEST(CheckpointFile, ReadIntoNamesTheEntryAndBothShapes) {
  TempDir dir;
  const std::string path = dir.file("a.h5");
  write_small(path);
  const CheckpointReader reader(path);
  const Tensor dst = Tensor::zeros({3, 5}, DType::F32);
  EXPECT_TRUE(mentions(error_text([&] { reader.read_into("model/layers.0.mixer.A_log", dst); }),
                       "checkpoint '" + path + "': model/layers.0.mixer.A_log has shape [3, 4], the model expects [3, 5]"));
  EXPECT_EQ(dst.to_doubles(), std::vector<double>(15, 0.0));  // untouched
  const Tensor ints = Tensor::zeros({2}, DType::I64);
  EXPECT_TRUE(mentions(error_text([&] { reader.read_into("model/embedding.weight", ints); }),
                       "model/embedding.weight holds f32 values, the model expects i64"));
}

TEST(CheckpointFile, MissingAndMistypedEntries) {
  TempDir dir;
  const std::string path = dir.file("a.h5");
  CheckpointWriter writer;
  writer.put_string("recipe", "a: 1\n");
  writer.put_tensor("w", Tensor::zeros({2}, DType::F32));
  writer.write(path);
  const CheckpointReader reader(path);
  const std::string missing = "checkpoint '" + path + "' has no entry 'state/step'";
  EXPECT_TRUE(mentions(error_text([&] { reader.get_int("state/step"); }), missing));
  EXPECT_TRUE(mentions(error_text([&] { reader.tensor("state/step"); }), missing));
  EXPECT_TRUE(mentions(error_text([&] { reader.read_into("state/step", Tensor::zeros({}, DType::I64)); }), missing));
  EXPECT_TRUE(mentions(error_text([&] { reader.get_int("recipe"); }), "entry 'recipe' holds a string"));
  EXPECT_TRUE(mentions(error_text([&] { reader.tensor("recipe"); }), "holds a string, not a tensor"));
  EXPECT_TRUE(mentions(error_text([&] { reader.get_double("w"); }), "entry 'w' holds f32[2]"));
  EXPECT_TRUE(mentions(error_text([&] { reader.get_u64s("w"); }), "entry 'w' holds f32[2]"));
  EXPECT_TRUE(mentions(error_text([&] { reader.get_string("w"); }), "entry 'w' holds f32[2]"));
}

// Found by fuzz/checkpoint.cpp: an entry declaring 2^20 x 2^20 floats that were never written (HDF5
// reads them as the fill value) made tensor() allocate 4 TB before reading. The reader now refuses
// an entry that is not stored in full.
TEST(CheckpointFile, EntryDeclaredButNeverWrittenIsRejected) {
  TempDir dir;
  const std::string path = dir.file("unwritten.h5");
  write_small(path);
  {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hsize_t dims[2] = {hsize_t{1} << 20, hsize_t{1} << 20};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    H5Dclose(H5Dcreate2(file, "model/huge", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(space);
    H5Fclose(file);
  }
  const CheckpointReader reader(path);
  EXPECT_TRUE(reader.has("model/huge"));
  const std::string message = error_text([&] { reader.tensor("model/huge"); });
  EXPECT_TRUE(mentions(message, "checkpoint '" + path + "': entry 'model/huge' declares 1099511627776 elements but "
                                "the file stores none")) << message;
  EXPECT_EQ(reader.tensor("model/embedding.weight").numel(), 2) << "the other entries still read";
}

// Found by fuzz/checkpoint.cpp under UndefinedBehaviorSanitizer: an entry of shape [2^62, 2^31, 0]
// holds no element for HDF5, but Tensor multiplied its dimensions in order and overflowed int64_t.
TEST(CheckpointFile, EntryWhoseShapeOverflowsIsRejected) {
  TempDir dir;
  const std::string path = dir.file("overflow.h5");
  write_small(path);
  {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hsize_t dims[3] = {hsize_t{1} << 62, hsize_t{1} << 31, 0};
    const hid_t space = H5Screate_simple(3, dims, nullptr);
    H5Dclose(H5Dcreate2(file, "model/empty", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(space);
    H5Fclose(file);
  }
  const CheckpointReader reader(path);
  ASSERT_TRUE(reader.has("model/empty"));
  const std::string message = error_text([&] { reader.tensor("model/empty"); });
  EXPECT_TRUE(mentions(message, "entry 'model/empty' has the shape [4611686018427387904, 2147483648, 0], whose "
                                "element count overflows 64 bits")) << message;
}

// Found by fuzz/checkpoint.cpp: HDF5 1.10.8 lets a compact dataset of shape [2^62, 1] f64 exist, its
// byte count wrapped around to 0; Tensor's byte count wrapped the same way, and H5Dread then copied
// from HDF5's null compact buffer (a SEGV). The reader now checks the bytes stored.
TEST(CheckpointFile, EntryStoredInFewerBytesThanItsShapeIsRejected) {
  TempDir dir;
  const std::string path = dir.file("compact.h5");
  write_small(path);
  {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hsize_t dims[2] = {hsize_t{1} << 62, 1};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t properties = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(properties, H5D_COMPACT);
    H5Dclose(H5Dcreate2(file, "model/compact", H5T_IEEE_F64LE, space, H5P_DEFAULT, properties, H5P_DEFAULT));
    H5Pclose(properties);
    H5Sclose(space);
    H5Fclose(file);
  }
  const CheckpointReader reader(path);
  ASSERT_TRUE(reader.has("model/compact"));
  const std::string message = error_text([&] { reader.tensor("model/compact"); });
  EXPECT_TRUE(mentions(message, "entry 'model/compact' declares 4611686018427387904 elements of 8 bytes but the "
                                "file stores 0 bytes of them")) << message;
}

TEST(CheckpointFile, WriterRejectsBadAndConflictingPaths) {
  CheckpointWriter writer;
  writer.put_int("state/step", 1);
  EXPECT_TRUE(mentions(error_text([&] { writer.put_int("state/step", 2); }), "'state/step' was put twice"));
  EXPECT_TRUE(mentions(error_text([&] { writer.put_int("state/step/x", 2); }), "would be under entry 'state/step'"));
  EXPECT_TRUE(mentions(error_text([&] { writer.put_int("state", 2); }), "already the group of entry 'state/step'"));
  for (const std::string bad : {"", "/a", "a/", "a//b", "a/./b", ".."}) {
    EXPECT_TRUE(mentions(error_text([&] { writer.put_int(bad, 0); }), "must be names joined by single slashes"))
        << bad;
  }
  EXPECT_TRUE(mentions(error_text([&] { writer.put_tensor("t", Tensor()); }), "undefined tensor"));
}

TEST(CheckpointFile, MissingFile) {
  TempDir dir;
  const std::string path = dir.file("nope.h5");
  EXPECT_TRUE(mentions(error_text([&] { CheckpointReader reader(path); }), "checkpoint '" + path + "' not found"));
}

TEST(CheckpointFile, TruncatedFileIsNotReadableAndPrintsNothing) {
  TempDir dir;
  const std::string path = dir.file("a.h5");
  write_small(path);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  ::testing::internal::CaptureStderr();
  const std::string message = error_text([&] { CheckpointReader reader(path); });
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_TRUE(mentions(message, "checkpoint '" + path + "' is not a readable HDF5 file (truncated or corrupt?)"));
}

TEST(CheckpointFile, GarbageFileIsNotReadableAndPrintsNothing) {
  TempDir dir;
  const std::string path = dir.file("a.h5");
  std::string garbage(4096, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 2654435761u) >> 13);
  write_text(path, garbage);
  ::testing::internal::CaptureStderr();
  const std::string message = error_text([&] { CheckpointReader reader(path); });
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_TRUE(mentions(message, "checkpoint '" + path + "' is not a readable HDF5 file (truncated or corrupt?)"));
}

TEST(CheckpointFile, RejectsOtherFormatsAndVersions) {
  TempDir dir;
  const std::string other = dir.file("other.h5"), bare = dir.file("bare.h5"), future = dir.file("future.h5");
  write_foreign(other, "something-else", 1);
  write_foreign(bare, "", 1);
  write_foreign(future, "krait-checkpoint", 2);
  EXPECT_TRUE(mentions(error_text([&] { CheckpointReader reader(other); }),
                       "checkpoint '" + other +
                           "' is not a Krait checkpoint: its format attribute is 'something-else', expected "
                           "'krait-checkpoint'"));
  EXPECT_TRUE(mentions(error_text([&] { CheckpointReader reader(bare); }), "its format attribute is missing"));
  EXPECT_TRUE(mentions(error_text([&] { CheckpointReader reader(future); }),
                       "checkpoint '" + future + "' has version 2; this build reads version 1"));
}

TEST(CheckpointFile, WriteReplacesTheFileAtomicallyAndLeavesNoTemp) {
  TempDir dir;
  const std::string path = dir.file("sub/dir/step.h5");  // parent directories are created
  std::filesystem::create_directories(dir.file("sub/dir"));
  write_text(path, "an older file");
  CheckpointWriter writer;
  writer.put_int("state/step", 5);
  writer.write(path);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_EQ(CheckpointReader(path).get_int("state/step"), 5);
  writer.put_int("state/extra", 6);
  writer.write(dir.file("fresh/step.h5"));
  EXPECT_EQ(CheckpointReader(dir.file("fresh/step.h5")).get_int("state/extra"), 6);
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("sub/dir")))
    names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"step.h5"});
}

TEST(CheckpointFile, FailedWriteLeavesTheOldFileAndNoTemp) {
  TempDir dir;
  const std::string path = dir.file("a.h5");
  write_text(path, "the previous checkpoint");
  std::filesystem::create_directory(path + ".tmp");  // H5Fcreate cannot create a file here
  CheckpointWriter writer;
  writer.put_int("state/step", 5);
  EXPECT_TRUE(mentions(error_text([&] { writer.write(path); }), "cannot create the file"));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::ifstream in(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "the previous checkpoint");
}

TEST(CheckpointFile, SavesAndLoadsCudaTensors) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  TempDir dir;
  const Tensor on_card = Tensor::from_vector({1, 2, 3}, {3}, DType::BF16, Device::cuda());
  CheckpointWriter writer;
  writer.put_tensor("w", on_card);
  writer.write(dir.file("a.h5"));
  const Tensor dst = Tensor::zeros({3}, DType::F32, Device::cuda());
  CheckpointReader(dir.file("a.h5")).read_into("w", dst);
  EXPECT_EQ(dst.to_doubles(), (std::vector<double>{1, 2, 3}));
}

}  // namespace
}  // namespace krait
