// data/batch.cpp — Batch sizing and read_window.
#include "data/batch.h"

#include <algorithm>

namespace krait::data {

void Batch::resize(int64_t rows, int64_t length) {
  batch_size = rows;
  seq_len = length;
  inputs.resize(static_cast<size_t>(rows * length));
  targets.resize(static_cast<size_t>(rows * length));
  labels.clear();
  lengths.clear();
}

void Batch::resize_classify(int64_t rows, int64_t length) {
  batch_size = rows;
  seq_len = length;
  inputs.resize(static_cast<size_t>(rows * length));
  targets.clear();
  labels.resize(static_cast<size_t>(rows));
  lengths.clear();
}

void read_window(const TokenSource& source, uint64_t start, Batch& batch, int64_t row) {
  const size_t length = static_cast<size_t>(batch.seq_len);
  int32_t* input = batch.inputs.data() + row * batch.seq_len;
  int32_t* target = batch.targets.data() + row * batch.seq_len;
  source.read(start, length, input);
  // The targets overlap the inputs but for one token, so copy rather than read twice.
  std::copy(input + 1, input + length, target);
  source.read(start + length, 1, target + length - 1);
}

}  // namespace krait::data
