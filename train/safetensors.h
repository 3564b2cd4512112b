// train/safetensors.h — Hugging Face's safetensors format, read and written by Krait itself:
// SafetensorsReader (one file, F32 / F16 / BF16 tensors read as f32, which is exact for all three),
// SafetensorsSet (a model folder: model.safetensors, or the shards listed by
// model.safetensors.index.json) and SafetensorsWriter (F32, F16 and BF16 tensors).
//
// Layout: u64 little-endian header length N | N bytes of JSON
// {"<name>": {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"<key>": "<string>", ...}} | the data: each tensor's row-major little-endian
// bytes at [begin, end) counted from the end of the header. Every check names the file and the tensor.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace krait::train {

struct SafetensorInfo {
  std::string dtype;           // as written: F32, F16, BF16 (the ones Krait reads), or another
  std::vector<int64_t> shape;
  int64_t numel = 1;
  uint64_t begin = 0, end = 0;  // byte offsets in the data section
};

// f16 and bf16 bit patterns as f32, exactly (subnormals, infinities and NaN payloads kept).
float f16_bits_to_float(uint16_t bits);
float bf16_bits_to_float(uint16_t bits);

class SafetensorsReader {
 public:
  // Reads and validates the header: its length within the file and below 100 MB, well-formed JSON
  // object, each entry an object of exactly dtype (a string), shape (non-negative integers) and
  // data_offsets (begin <= end within the data section, end - begin = numel x the dtype's size for
  // a known dtype), no two tensors overlapping; __metadata__ an object of strings.
  explicit SafetensorsReader(const std::string& path);

  const std::string& path() const { return path_; }
  const std::map<std::string, SafetensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  const SafetensorInfo& info(const std::string& name) const;  // throws naming the file for an unknown name
  // The tensor's values, row-major, as f32; throws naming the file and tensor for a dtype other than
  // F32, F16 or BF16.
  std::vector<float> read(const std::string& name) const;

 private:
  std::string path_;
  uint64_t data_start_ = 0;  // 8 + N
  std::map<std::string, SafetensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A Hugging Face model folder's weights: DIR/model.safetensors.index.json ({"weight_map": {"<name>":
// "<shard file in DIR>", ...}}, each shard holding exactly the tensors mapped to it) if present,
// else DIR/model.safetensors.
class SafetensorsSet {
 public:
  explicit SafetensorsSet(const std::string& dir);

  std::vector<std::string> names() const;  // sorted
  bool has(const std::string& name) const { return where_.count(name) != 0; }
  const SafetensorInfo& info(const std::string& name) const;
  std::vector<float> read(const std::string& name) const;
  const std::string& file_of(const std::string& name) const;  // the path holding it

 private:
  const SafetensorsReader& reader_of(const std::string& name) const;

  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsReader>> files_;
  std::map<std::string, const SafetensorsReader*> where_;
};

class SafetensorsWriter {
 public:
  // Each name once (not "__metadata__"); values.size() must equal the shape's element count.
  void add_f32(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& values);
  // dtype "F16" or "BF16": the raw 16-bit patterns.
  void add_16bit(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape,
                 const std::vector<uint16_t>& bits);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

  // Tensors in name order, the header padded with spaces to a multiple of 8 bytes (as Hugging Face
  // writes it); written to path + ".tmp", flushed to disk and renamed onto path.
  void write(const std::string& path) const;

 private:
  struct Entry {
    std::string dtype;
    std::vector<int64_t> shape;
    std::string bytes;
  };
  void add(const std::string& name, Entry entry, size_t count);

  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace krait::train
