// tests/data/batch_compare.h — drawing batches from a sampler and comparing them (every field), and
// comparing sampler states, for the sampler tests.
#pragma once

#include <vector>

#include "data/sampler.h"

namespace krait::data::testing {

inline std::vector<Batch> draw(TrainSampler& sampler, int n) {
  std::vector<Batch> batches(static_cast<size_t>(n));
  for (Batch& batch : batches) sampler.next(batch);
  return batches;
}

inline bool same_batch(const Batch& a, const Batch& b) {
  return a.batch_size == b.batch_size && a.seq_len == b.seq_len && a.inputs == b.inputs && a.targets == b.targets &&
         a.labels == b.labels && a.lengths == b.lengths;
}

inline bool same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!same_batch(a[i], b[i])) return false;
  }
  return true;
}

inline bool same_state(const SamplerState& a, const SamplerState& b) {
  return a.rng.words == b.rng.words && a.rng.has_spare == b.rng.has_spare && a.rng.spare == b.rng.spare &&
         a.batches_drawn == b.batches_drawn;
}

}  // namespace krait::data::testing
