// data/hdf5_tokens.cpp — writing and reading token arrays in HDF5 through the C API.
#include "data/hdf5_tokens.h"

#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/error.h"
#include "data/token_ids.h"
#include "data/hdf5_util.h"

namespace krait::data {

static_assert(std::is_same_v<hid_t, int64_t>, "Hdf5TokenFile stores hid_t as int64_t");

namespace {
using hdf5::Handle;
using hdf5::QuietHdf5Errors;
using hdf5::hdf5_reason;

constexpr const char* kDataset = "tokens";
constexpr const char* kVocabAttribute = "vocab_size";
constexpr uint64_t kScanChunk = uint64_t{1} << 20;  // ids read per step of the validation scan


void write_file(const std::string& path, std::span<const int32_t> ids, uint32_t vocab_size,
                uint32_t bytes_per_token) {
  Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  KRAIT_CHECK(file.ok(), path, ": cannot create HDF5 file: ", hdf5_reason());
  const hsize_t dims[1] = {ids.size()};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  const hid_t stored_type = bytes_per_token == 2 ? H5T_STD_U16LE : H5T_STD_U32LE;
  Handle dataset(H5Dcreate2(file.get(), kDataset, stored_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
  KRAIT_CHECK(dataset.ok(), path, ": cannot create /", kDataset, ": ", hdf5_reason());
  if (!ids.empty()) {
    KRAIT_CHECK(H5Dwrite(dataset.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids.data()) >= 0, path,
                ": cannot write /", kDataset, ": ", hdf5_reason());
  }
  Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attribute(H5Acreate2(dataset.get(), kVocabAttribute, H5T_STD_U32LE, scalar.get(), H5P_DEFAULT, H5P_DEFAULT),
                   H5Aclose);
  KRAIT_CHECK(attribute.ok() && H5Awrite(attribute.get(), H5T_NATIVE_UINT32, &vocab_size) >= 0, path,
              ": cannot write the ", kVocabAttribute, " attribute: ", hdf5_reason());
}

uint64_t read_vocab_attribute(const std::string& path, hid_t dataset) {
  KRAIT_CHECK(H5Aexists(dataset, kVocabAttribute) > 0, path, ": /", kDataset, " has no ", kVocabAttribute,
              " attribute");
  Handle attribute(H5Aopen(dataset, kVocabAttribute, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  Handle space(H5Aget_space(attribute.get()), H5Sclose);
  KRAIT_CHECK(H5Tget_class(type.get()) == H5T_INTEGER && H5Sget_simple_extent_npoints(space.get()) == 1, path,
              ": the ", kVocabAttribute, " attribute must be a single integer");
  uint64_t vocab_size = 0;
  KRAIT_CHECK(H5Aread(attribute.get(), H5T_NATIVE_UINT64, &vocab_size) >= 0, path, ": cannot read ",
              kVocabAttribute, ": ", hdf5_reason());
  return vocab_size;
}

}  // namespace

bool is_hdf5_path(const std::string& path) {
  const std::string extension = std::filesystem::path(path).extension().string();
  return extension == ".h5" || extension == ".hdf5";
}

void write_token_hdf5(const std::string& path, std::span<const int32_t> ids, uint32_t vocab_size,
                      uint32_t bytes_per_token) {
  check_vocab_size(path, vocab_size);
  check_bytes_per_token(path, bytes_per_token, vocab_size);
  check_ids_below(path, ids.data(), ids.size(), vocab_size);
  hdf5::write_then_rename(path, [&](const std::string& temp) { write_file(temp, ids, vocab_size, bytes_per_token); });
}

Hdf5TokenFile::Hdf5TokenFile(const std::string& path) : path_(path) {
  QuietHdf5Errors quiet;
  KRAIT_CHECK(std::filesystem::exists(path), path, ": no such file");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  KRAIT_CHECK(file.ok(), path, ": cannot open as HDF5: ", hdf5_reason());
  KRAIT_CHECK(H5Lexists(file.get(), kDataset, H5P_DEFAULT) > 0, path, ": no /", kDataset, " dataset");
  Handle dataset(H5Dopen2(file.get(), kDataset, H5P_DEFAULT), H5Dclose);
  KRAIT_CHECK(dataset.ok(), path, ": cannot open /", kDataset, ": ", hdf5_reason());
  hdf5::check_fully_stored(dataset.get(), path + ": /" + kDataset);

  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  KRAIT_CHECK(rank == 1, path, ": /", kDataset, " must be 1-D, found rank ", rank);
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  count_ = dims[0];

  Handle type(H5Dget_type(dataset.get()), H5Tclose);
  const size_t type_bytes = H5Tget_size(type.get());
  KRAIT_CHECK(H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_sign(type.get()) == H5T_SGN_NONE &&
                  (type_bytes == 2 || type_bytes == 4),
              path, ": /", kDataset, " must hold uint16 or uint32, found a ", type_bytes, "-byte ",
              H5Tget_class(type.get()) == H5T_INTEGER
                  ? (H5Tget_sign(type.get()) == H5T_SGN_NONE ? "unsigned integer" : "signed integer")
                  : "non-integer type");
  bytes_per_token_ = static_cast<uint32_t>(type_bytes);

  const uint64_t vocab_size = read_vocab_attribute(path, dataset.get());
  check_vocab_size(path, vocab_size);
  vocab_size_ = static_cast<uint32_t>(vocab_size);

  // Read as uint32 so an id of 2^31 or more is reported as itself rather than clamped to int32.
  std::vector<uint32_t> chunk(std::min(count_, kScanChunk));
  for (uint64_t begin = 0; begin < count_; begin += kScanChunk) {
    const hsize_t start[1] = {begin};
    const hsize_t n[1] = {std::min(kScanChunk, count_ - begin)};
    Handle memory(H5Screate_simple(1, n, nullptr), H5Sclose);
    H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, n, nullptr);
    KRAIT_CHECK(H5Dread(dataset.get(), H5T_NATIVE_UINT32, memory.get(), space.get(), H5P_DEFAULT, chunk.data()) >= 0,
                path, ": cannot read tokens ", begin, "..", begin + n[0], ": ", hdf5_reason());
    check_ids_below(path, chunk.data(), n[0], vocab_size_, begin);
  }

  dataset_ = dataset.release();
  file_ = file.release();
}

Hdf5TokenFile::~Hdf5TokenFile() {
  H5Dclose(dataset_);
  H5Fclose(file_);
}

void Hdf5TokenFile::read(uint64_t offset, uint64_t count, int32_t* out) const {
  KRAIT_CHECK(offset <= count_ && count <= count_ - offset, path_, ": read of ", count, " tokens at ", offset,
              " passes the end (", count_, " tokens)");
  if (count == 0) return;
  QuietHdf5Errors quiet;
  Handle space(H5Dget_space(dataset_), H5Sclose);
  const hsize_t start[1] = {offset};
  const hsize_t n[1] = {count};
  Handle memory(H5Screate_simple(1, n, nullptr), H5Sclose);
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, n, nullptr);
  KRAIT_CHECK(H5Dread(dataset_, H5T_NATIVE_INT32, memory.get(), space.get(), H5P_DEFAULT, out) >= 0, path_,
              ": cannot read tokens ", offset, "..", offset + count, ": ", hdf5_reason());
}

}  // namespace krait::data
