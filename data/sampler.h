// data/sampler.h — the two ways a trainer draws batches: TrainSampler, an endless random stream
// whose SamplerState a checkpoint saves so a resumed run continues bit-identically; and EvalPass, a
// deterministic pass over a validation set. RandomBatcher / EvalBatcher (token files),
// WindowSampler / WindowEvalPass (sequence sets) and PrefetchSampler implement them.
#pragma once

#include <cstdint>

#include "common/rng.h"
#include "data/batch.h"

namespace krait::data {

// Everything that decides the batches still to come. Plain data, so a checkpoint can store it.
struct SamplerState {
  Rng::Snapshot rng;
  uint64_t batches_drawn = 0;
};

class TrainSampler {
 public:
  virtual ~TrainSampler() = default;
  virtual void next(Batch& out) = 0;
  virtual SamplerState state() const = 0;  // as of the last batch next() returned
  virtual void set_state(const SamplerState& state) = 0;
};

class EvalPass {
 public:
  virtual ~EvalPass() = default;
  // Fills out with the next batch (the last may be short); false once the pass is over.
  virtual bool next(Batch& out) = 0;
  virtual void reset() = 0;  // start the pass again
};

// A seed for rank's stream, mixed so that nearby seeds and ranks give unrelated streams.
uint64_t rank_seed(uint64_t seed, int rank);

}  // namespace krait::data
