// data/random_batcher.h — RandomBatcher, the training sampler: batches of windows drawn uniformly at
// random from a TokenSource, one stream for all ranks (each reads its rows of the global micro-batch),
// with a state that can be saved in a checkpoint and restored to continue bit-identically, on any
// number of ranks.
#pragma once

#include <cstdint>

#include "data/sampler.h"
#include "data/token_source.h"

namespace krait::data {

class RandomBatcher final : public TrainSampler {
 public:
  // The source must outlive the batcher and hold at least seq_len + 1 tokens. batch_size is this
  // rank's rows; the global micro-batch is batch_size x world_size windows from one stream seeded by
  // rank_seed(seed, 0), of which rank r reads rows [r x batch_size, (r + 1) x batch_size).
  RandomBatcher(const TokenSource& source, int64_t batch_size, int64_t seq_len, uint64_t seed, int rank = 0,
                int world_size = 1);

  // Fills out with batch_size windows whose starts are uniform over [0, size - seq_len - 1].
  void next(Batch& out) override;

  SamplerState state() const override { return {rng_.snapshot(), batches_drawn_}; }
  void set_state(const SamplerState& state) override;

 private:
  const TokenSource& source_;
  int64_t batch_size_;
  int64_t seq_len_;
  int rank_, world_size_;
  Rng rng_;
  uint64_t batches_drawn_ = 0;
};

}  // namespace krait::data
