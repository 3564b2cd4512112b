// tests/data/temp_dir.h — the shared temp directory and file helpers (tests/support/temp_dir.h) in the
// data tests' namespace, and counting_ids for building shards.
#pragma once

#include <cstdint>
#include <vector>

#include "tests/support/temp_dir.h"

namespace krait::data::testing {

using krait::testing::read_bytes;
using krait::testing::TempDir;
using krait::testing::write_bytes;
using krait::testing::write_text;

// Ids 0, 1, 2, ... wrapping at vocab_size.
inline std::vector<int32_t> counting_ids(size_t n, uint32_t vocab_size) {
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>(i % vocab_size);
  return ids;
}

}  // namespace krait::data::testing
