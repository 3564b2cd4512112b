// train/grad_sync.h — data-parallel gradient averaging. The trainable parameters' gradients live in
// a few flat f32 buckets (planned once, in backward order: the last layers first; each f32
// parameter's gradient slot keeps its part of a bucket as its buffer, so backward writes there and
// nothing is allocated or copied per step), each bucket is all-reduced in place by the communicator
// as soon as its last gradient is final — during the rest of the backward pass when armed (a
// LeafGradientHook), else right after it. Each rank's loss is divided by the world size before backward, so the
// sum is the mean over the global batch.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "autograd/parameter.h"
#include "autograd/tape.h"
#include "dist/communicator.h"
#include "train/bucket_trigger.h"

namespace krait::train {


// Parameters in reverse list order, a new bucket started once the current one holds at least
// bucket_bytes of f32 gradients (a parameter is never split). bucket_bytes must be > 0.
std::vector<GradBucket> plan_buckets(const ParameterList& params, int64_t bucket_bytes);

class GradSync {
 public:
  // The buckets are allocated once, on the parameters' device, and become the f32 parameters'
  // gradient buffers (GradSlot::buffer) until this object is destroyed.
  GradSync(dist::Communicator& comm, ParameterList params, int64_t bucket_bytes);
  ~GradSync();

  // Before the last backward of a step: each bucket's all-reduce starts as soon as backward has
  // finished its gradients, overlapping the backward of the layers before it.
  void arm();
  // After it: starts the buckets not started yet, waits, and leaves every gradient its sum over the
  // ranks. Every parameter must have an f32 gradient (an error names the one that has
  // none: every rank must compute the same set of gradients).
  void finish();
  // arm() was not called: all buckets at once, then finish().
  void all_reduce() { finish(); }
  const std::vector<GradBucket>& buckets() const { return buckets_; }
  // Buckets whose all-reduce started during the last armed backward (for the log).
  int64_t started_in_backward() const { return trigger_.started_in_backward(); }

 private:
  void start(size_t bucket);

  dist::Communicator& comm_;
  ParameterList params_;
  std::vector<GradBucket> buckets_;
  std::vector<Tensor> flat_;                 // one f32 buffer per bucket
  // The parameters' part of their bucket; a gradient held elsewhere (not f32) is copied in and out.
  Tensor part(size_t bucket, size_t j) const;
  BucketTrigger trigger_;
};

}  // namespace krait::train
