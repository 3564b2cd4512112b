// data/random_batcher.cpp — RandomBatcher.
#include "data/random_batcher.h"

#include "common/error.h"

namespace krait::data {

RandomBatcher::RandomBatcher(const TokenSource& source, int64_t batch_size, int64_t seq_len, uint64_t seed, int rank,
                             int world_size)
    : source_(source),
      batch_size_(batch_size),
      seq_len_(seq_len),
      rank_(rank),
      world_size_(world_size),
      rng_(rank_seed(seed, 0)) {
  KRAIT_CHECK(batch_size >= 1 && seq_len >= 1, "RandomBatcher: batch_size and seq_len must be >= 1, found ",
              batch_size, " and ", seq_len);
  KRAIT_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "RandomBatcher: rank ", rank,
              " is not in [0, world_size = ", world_size, ")");
  KRAIT_CHECK(source.size() > static_cast<uint64_t>(seq_len), source.path(), ": ", source.size(),
              " tokens is too few for one window of seq_len + 1 = ", seq_len + 1);
}

// Every rank draws the starts of the whole global micro-batch (cheap) and reads only its rows, so the
// stream is one for all ranks: the same windows in the same order on any number of them.
void RandomBatcher::next(Batch& out) {
  out.resize(batch_size_, seq_len_);
  const uint64_t starts = source_.size() - static_cast<uint64_t>(seq_len_);  // windows that fit
  for (int r = 0; r < world_size_; ++r) {
    for (int64_t row = 0; row < batch_size_; ++row) {
      const uint64_t start = rng_.below(starts);
      if (r == rank_) read_window(source_, start, out, row);
    }
  }
  ++batches_drawn_;
}

void RandomBatcher::set_state(const SamplerState& state) {
  rng_.restore(state.rng);
  batches_drawn_ = state.batches_drawn;
}

}  // namespace krait::data
