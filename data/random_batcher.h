// data/random_batcher.h — RandomBatcher, the training sampler: batches of windows drawn uniformly at
// random from a TokenSource, one independent stream per rank, with a state that can be saved in a
// checkpoint and restored to continue bit-identically.
#pragma once

#include <cstdint>

#include "data/sampler.h"
#include "data/token_source.h"

namespace krait::data {

class RandomBatcher final : public TrainSampler {
 public:
  // The source must outlive the batcher and hold at least seq_len + 1 tokens. Every rank samples
  // the whole source, from its own stream seeded by rank_seed(seed, rank).
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
  Rng rng_;
  uint64_t batches_drawn_ = 0;
};

}  // namespace krait::data
