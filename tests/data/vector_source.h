// tests/data/vector_source.h — VectorSource, an in-memory TokenSource for testing the batchers.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.h"
#include "data/token_source.h"

namespace krait::data::testing {

class VectorSource : public TokenSource {
 public:
  VectorSource(std::vector<int32_t> ids, uint32_t vocab_size) : ids_(std::move(ids)), vocab_size_(vocab_size) {}

  // Token i is i, so a window's first input is its start position.
  static VectorSource positions(size_t n) {
    std::vector<int32_t> ids(n);
    for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>(i);
    return VectorSource(std::move(ids), static_cast<uint32_t>(n));
  }

  uint64_t size() const override { return ids_.size(); }
  uint32_t vocab_size() const override { return vocab_size_; }
  void read(uint64_t offset, uint64_t count, int32_t* out) const override {
    KRAIT_CHECK(offset + count <= ids_.size(), "VectorSource: read past the end");
    std::copy_n(ids_.begin() + static_cast<std::ptrdiff_t>(offset), count, out);
  }
  const std::string& path() const override { return path_; }

 private:
  std::vector<int32_t> ids_;
  uint32_t vocab_size_;
  std::string path_ = "<memory>";
};

}  // namespace krait::data::testing
