// data/batch.h — Batch, what a model's forward takes: token (or quantized sample) ids, per-token
// next-token targets (the loss mask is the ignore id), optional per-sequence class labels and
// lengths; and read_window, which fills one LM row of it from a TokenSource.
#pragma once

#include <cstdint>
#include <vector>

#include "data/token_source.h"

namespace krait::data {

// A target (or label) equal to kIgnoreId contributes no loss.
inline constexpr int32_t kIgnoreId = -100;

// Row r of inputs is a window of seq_len ids. For language modelling, targets[r][t] is the id that
// follows inputs[r][t] (kIgnoreId where no loss is wanted: padding, prompts). For classification,
// targets is empty and labels[r] is row r's class. lengths[r] is the number of real ids at the start
// of row r (the rest is padding); empty means every row is full.
struct Batch {
  int64_t batch_size = 0;        // rows actually filled (an eval pass's last batch may be short)
  int64_t seq_len = 0;
  std::vector<int32_t> inputs;   // batch_size x seq_len, row-major
  std::vector<int32_t> targets;  // batch_size x seq_len, row-major; empty for classification
  std::vector<int32_t> labels;   // batch_size; empty for language modelling
  std::vector<int32_t> lengths;  // batch_size; empty = all rows seq_len long

  // Sizes inputs and targets for next-token prediction (labels and lengths cleared).
  void resize(int64_t rows, int64_t length);
  // Sizes inputs and labels for classification (targets and lengths cleared).
  void resize_classify(int64_t rows, int64_t length);
  bool is_classification() const { return !labels.empty(); }
};

// Reads the seq_len + 1 tokens at start into row `row` of batch (sized for it already).
void read_window(const TokenSource& source, uint64_t start, Batch& batch, int64_t row);

}  // namespace krait::data
