// train/grad_sync.h — data-parallel gradient averaging. The trainable parameters' gradients are
// packed into a few flat f32 buckets (planned once, in backward order: the last layers first), each
// bucket is all-reduced by the communicator as soon as it is packed, so the reduction of one bucket
// overlaps the packing of the next, and the sums are unpacked into the gradients. Each rank's loss is
// divided by the world size before backward, so the sum is the mean over the global batch.
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/parameter.h"
#include "dist/communicator.h"

namespace krait::train {

// One bucket: parameters (indices into the list) and where each starts in the flat buffer.
struct GradBucket {
  std::vector<size_t> params;
  std::vector<int64_t> offsets;
  int64_t numel = 0;
};

// Parameters in reverse list order, a new bucket started once the current one holds at least
// bucket_bytes of f32 gradients (a parameter is never split). bucket_bytes must be > 0.
std::vector<GradBucket> plan_buckets(const ParameterList& params, int64_t bucket_bytes);

class GradSync {
 public:
  // The buffers are allocated once, on the parameters' device, and reused every step.
  GradSync(dist::Communicator& comm, ParameterList params, int64_t bucket_bytes);

  // Replaces every gradient with its sum over the ranks. Every parameter must have an f32 gradient
  // (an error names the one that has none: every rank must compute the same set of gradients).
  void all_reduce();
  const std::vector<GradBucket>& buckets() const { return buckets_; }

 private:
  dist::Communicator& comm_;
  ParameterList params_;
  std::vector<GradBucket> buckets_;
  std::vector<Tensor> flat_;  // one f32 buffer per bucket
};

}  // namespace krait::train
