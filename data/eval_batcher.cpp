// data/eval_batcher.cpp — EvalBatcher.
#include "data/eval_batcher.h"

#include <algorithm>

#include "common/error.h"

namespace krait::data {

EvalBatcher::EvalBatcher(const TokenSource& source, int64_t batch_size, int64_t seq_len, int rank, int world_size,
                         int64_t max_batches)
    : source_(source),
      batch_size_(batch_size),
      seq_len_(seq_len),
      rank_(static_cast<uint64_t>(rank)),
      world_size_(static_cast<uint64_t>(world_size)),
      total_windows_(0) {
  KRAIT_CHECK(batch_size >= 1 && seq_len >= 1, "EvalBatcher: batch_size and seq_len must be >= 1, found ",
              batch_size, " and ", seq_len);
  KRAIT_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "EvalBatcher: rank ", rank,
              " is not in [0, world_size = ", world_size, ")");
  KRAIT_CHECK(max_batches >= 0, "EvalBatcher: max_batches must be >= 0 (0 = no cap), found ", max_batches);
  total_windows_ = source.size() == 0 ? 0 : (source.size() - 1) / static_cast<uint64_t>(seq_len);
  if (max_batches > 0) {
    total_windows_ = std::min(total_windows_, static_cast<uint64_t>(max_batches * batch_size) * world_size_);
  }
}

uint64_t EvalBatcher::rank_windows() const {
  return total_windows_ / world_size_ + (rank_ < total_windows_ % world_size_ ? 1 : 0);
}

bool EvalBatcher::next(Batch& out) {
  const uint64_t remaining = rank_windows() - next_window_;
  if (remaining == 0) return false;
  const int64_t rows = static_cast<int64_t>(std::min<uint64_t>(remaining, static_cast<uint64_t>(batch_size_)));
  out.resize(rows, seq_len_);
  for (int64_t row = 0; row < rows; ++row, ++next_window_) {
    const uint64_t window = rank_ + next_window_ * world_size_;
    read_window(source_, window * static_cast<uint64_t>(seq_len_), out, row);
  }
  return true;
}

}  // namespace krait::data
