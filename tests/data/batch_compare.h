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

// The rows of per-rank batches stacked in rank order: the global batch they are slices of.
inline Batch stack_rows(const std::vector<Batch>& ranks) {
  Batch out = ranks.front();
  out.batch_size = 0;
  out.inputs.clear(), out.targets.clear(), out.labels.clear(), out.lengths.clear();
  for (const Batch& b : ranks) {
    out.batch_size += b.batch_size;
    out.inputs.insert(out.inputs.end(), b.inputs.begin(), b.inputs.end());
    out.targets.insert(out.targets.end(), b.targets.begin(), b.targets.end());
    out.labels.insert(out.labels.end(), b.labels.begin(), b.labels.end());
    out.lengths.insert(out.lengths.end(), b.lengths.begin(), b.lengths.end());
  }
  return out;
}

// n batches from each of `ranks` samplers, stacked batch by batch into global batches.
inline std::vector<Batch> draw_stacked(const std::vector<TrainSampler*>& ranks, int n) {
  std::vector<std::vector<Batch>> per_rank;
  for (TrainSampler* sampler : ranks) per_rank.push_back(draw(*sampler, n));
  std::vector<Batch> out;
  for (int i = 0; i < n; ++i) {
    std::vector<Batch> slices;
    for (const auto& batches : per_rank) slices.push_back(batches[static_cast<size_t>(i)]);
    out.push_back(stack_rows(slices));
  }
  return out;
}

inline bool same_state(const SamplerState& a, const SamplerState& b) {
  return a.rng.words == b.rng.words && a.rng.has_spare == b.rng.has_spare && a.rng.spare == b.rng.spare &&
         a.batches_drawn == b.batches_drawn;
}

}  // namespace krait::data::testing
