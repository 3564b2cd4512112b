// train/checkpoint_file.h — CheckpointWriter and CheckpointReader: one checkpoint as an HDF5 file
// of entries addressed by slash paths ("model/layers.0.mixer.A_log",
// "optim/exp_avg/embedding.weight", "state/step"). Each entry is a dataset; slashes make groups.
// The root carries the attributes format = "krait-checkpoint" and version = 1.
//
// Stored forms: tensors keep their shape and dtype (bf16 as uint16 marked by a dtype = "bf16"
// attribute); put_int is an i64 scalar and put_double an f64 scalar (so a 0-d i64 tensor reads back
// through get_int and an int through tensor()); put_u64s is a 1-D uint64 array; put_string a
// variable-length UTF-8 string.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "autograd/tensor.h"

namespace krait {

class CheckpointWriter {
 public:
  // Each path may be given once; an entry cannot also be the group of another ("a" and "a/b").
  void put_tensor(const std::string& path, const Tensor& tensor);  // copied to the host now
  void put_int(const std::string& path, int64_t value);
  void put_double(const std::string& path, double value);
  void put_u64s(const std::string& path, std::vector<uint64_t> values);
  void put_string(const std::string& path, std::string value);

  // Writes every entry to final_path + ".tmp", fsyncs it, renames it onto final_path (replacing any
  // file there) and fsyncs the directory, so final_path only ever names a complete checkpoint.
  // Creates missing parent directories. On failure the temporary file is removed.
  void write(const std::string& final_path) const;

 private:
  using Value = std::variant<Tensor, int64_t, double, std::vector<uint64_t>, std::string>;
  void put(const std::string& path, Value value);
  void write_file(const std::string& path) const;  // the HDF5 file itself, closed on return
  std::map<std::string, Value> entries_;
};

class CheckpointReader {
 public:
  // Opens and validates the file: it must exist, be readable HDF5 and carry the format and version
  // attributes above. Throws krait::Error otherwise; HDF5 prints nothing.
  explicit CheckpointReader(const std::string& path);
  ~CheckpointReader();
  CheckpointReader(const CheckpointReader&) = delete;
  CheckpointReader& operator=(const CheckpointReader&) = delete;

  const std::string& path() const { return path_; }

  bool has(const std::string& path) const;  // an entry (not a group) at path
  // Names directly under a group ("" is the root), entries and subgroups alike, sorted.
  std::vector<std::string> list(const std::string& group) const;

  Tensor tensor(const std::string& path) const;  // on the host, with the stored dtype and shape
  // Copies the entry into dst (any device). The shapes must match and the dtypes must both be
  // floating or both integer; values are converted to dst's dtype.
  void read_into(const std::string& path, const Tensor& dst) const;

  int64_t get_int(const std::string& path) const;
  double get_double(const std::string& path) const;
  std::vector<uint64_t> get_u64s(const std::string& path) const;
  std::string get_string(const std::string& path) const;

 private:
  int64_t open_entry(const std::string& path) const;  // a dataset id the caller closes

  std::string path_;
  int64_t file_ = -1;  // the HDF5 file id (hid_t)
};

}  // namespace krait
