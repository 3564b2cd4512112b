// data/batch.h — Batch, a block of next-token-prediction windows as int32 arrays, and read_window,
// which fills one row of it from a TokenSource.
#pragma once

#include <cstdint>
#include <vector>

#include "data/token_source.h"

namespace krait::data {

// Row r of inputs is tokens [s, s + seq_len) of a window starting at s; row r of targets is
// tokens [s + 1, s + seq_len + 1), so targets[r][t] is the token that follows inputs[r][t].
struct Batch {
  int64_t batch_size = 0;        // rows actually filled (an eval pass's last batch may be short)
  int64_t seq_len = 0;
  std::vector<int32_t> inputs;   // batch_size x seq_len, row-major
  std::vector<int32_t> targets;  // batch_size x seq_len, row-major

  void resize(int64_t rows, int64_t length);
};

// Reads the seq_len + 1 tokens at start into row `row` of batch (sized for it already).
void read_window(const TokenSource& source, uint64_t start, Batch& batch, int64_t row);

}  // namespace krait::data
