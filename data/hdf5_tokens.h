// data/hdf5_tokens.h — token arrays in HDF5: a 1-D uint16 or uint32 dataset "/tokens" carrying a
// "vocab_size" attribute. write_token_hdf5 writes one; Hdf5TokenFile reads one by hyperslabs.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "data/token_source.h"

namespace krait::data {

// True for paths ending in ".h5" or ".hdf5".
bool is_hdf5_path(const std::string& path);

// Writes path + ".tmp" and renames it over path.
void write_token_hdf5(const std::string& path, std::span<const int32_t> ids, uint32_t vocab_size,
                      uint32_t bytes_per_token);

// Validates the dataset's shape, type, attribute and every id on open, reading in bounded chunks;
// read() pulls only the requested range. Not safe to read from several threads at once (the
// serial HDF5 library is not thread-safe).
class Hdf5TokenFile : public TokenSource {
 public:
  explicit Hdf5TokenFile(const std::string& path);
  ~Hdf5TokenFile() override;
  Hdf5TokenFile(const Hdf5TokenFile&) = delete;
  Hdf5TokenFile& operator=(const Hdf5TokenFile&) = delete;

  uint64_t size() const override { return count_; }
  uint32_t vocab_size() const override { return vocab_size_; }
  void read(uint64_t offset, uint64_t count, int32_t* out) const override;
  const std::string& path() const override { return path_; }

  uint32_t bytes_per_token() const { return bytes_per_token_; }

 private:
  std::string path_;
  int64_t file_ = -1;     // hid_t, kept as its underlying type so this header needs no hdf5.h
  int64_t dataset_ = -1;  // hid_t of /tokens
  uint64_t count_ = 0;
  uint32_t vocab_size_ = 0;
  uint32_t bytes_per_token_ = 0;
};

}  // namespace krait::data
