// train/bucket_trigger.h — BucketTrigger: starts a collective per gradient bucket (plan_buckets) from
// the backward pass, as soon as every gradient of the bucket is final (a LeafGradientHook), and the
// buckets left over afterwards. What GradSync's all-reduce and ZeRO-1's reduce-scatter share.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "autograd/parameter.h"
#include "autograd/tape.h"

namespace krait::train {

// One bucket: parameters (indices into the list) and where each starts in the flat buffer.
struct GradBucket {
  std::vector<size_t> params;
  std::vector<int64_t> offsets;
  int64_t numel = 0;
};

class BucketTrigger {
 public:
  // start(i) hands bucket i to the communicator; params are the ones the buckets index.
  BucketTrigger(const std::vector<GradBucket>& buckets, const ParameterList& params, std::function<void(size_t)> start);

  // Before the last backward of a step: from now on a bucket starts once its gradients are final.
  void arm();
  // After it: starts every bucket not started yet (all of them when not armed) and disarms.
  void start_rest();
  // Buckets started during the last armed backward.
  int64_t started_in_backward() const { return started_in_backward_; }

 private:
  void gradient_final(const GradSlot& slot);

  std::function<void(size_t)> start_;
  std::vector<size_t> sizes_;                // per bucket: its parameters
  std::map<const GradSlot*, size_t> where_;  // a gradient slot -> its bucket
  std::vector<size_t> pending_;              // per bucket: gradients not final yet
  std::vector<bool> started_;
  std::unique_ptr<LeafGradientHook> hook_;
  int64_t started_in_backward_ = 0;
};

}  // namespace krait::train
