// train/zero1.h — ZeRO stage 1: the AdamW state sharded over the data-parallel ranks.
//
// The trainable parameters are laid out in the same flat buckets as GradSync's (plan_buckets), each
// padded to a multiple of the world size and cut into world equal, contiguous shards; rank r owns
// shard r of every bucket, and holds AdamW moments for those elements only (about 1/world of them).
// The parameters' gradients accumulate in place in the flat buckets (each gradient slot's buffer is its
// part of a bucket, as with GradSync). One step:
//   1. reduce_scatter_sum each bucket in place, so this rank holds its shard of the summed gradients
//      (each rank's loss already divided by the world size): during the last backward when armed (a
//      bucket starts as soon as its gradients are final, overlapping the backward of the layers
//      before it), else after it;
//   2. the global gradient norm: each rank's sum of squares (in double) is all-gathered bit-exactly
//      and the partial sums are added in rank order on every rank, so every rank gets the same norm;
//   3. when max_norm > 0 and the norm is finite, the shard is scaled as clip_grad_norm scales;
//   4. when the norm is finite, AdamW (optim/adamw.cpp, unchanged) updates this rank's shard, and the
//      buckets are all-gathered back into every rank's parameters.
// Nothing of this touches the parameters' own gradients (the caller still zeroes them).
//
// Exactness against a plain AdamW + clip_grad_norm on the summed gradients (tests/trainer/test_zero1.cpp):
// the summed gradients are the communicator's (same values as GradSync's) and the per-element update
// is AdamW's own, so without clipping the parameters are bit-identical. The norm's sum of squares is
// added in another order (bucket order, then per rank), so it can differ from global_grad_norm's in the
// last bits of the double; clipping multiplies f32 gradients by the coefficient rounded to f32, which
// such a difference almost never changes (f64 parameters would see it directly).
//
// Checkpoints stay independent of the world size: state() returns every parameter's full moments
// (a collective), load_state() takes them and keeps this rank's shard.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/parameter.h"
#include "dist/communicator.h"
#include "optim/adamw.h"
#include "train/bucket_trigger.h"
#include "train/grad_sync.h"

namespace krait::train {

class ShardedAdamW {
 public:
  // The parameters (the trainer's trainable list; the tensors are shared, not copied) must be non-empty,
  // uniquely named, all on one device and of one dtype: f32, or f64 on the CPU (the communicator's
  // dtypes). Every rank must construct it with the same list and bucket_bytes. Not a collective.
  ShardedAdamW(dist::Communicator& comm, ParameterList params, const AdamWConfig& config, int64_t bucket_bytes);
  ~ShardedAdamW();
  ShardedAdamW(const ShardedAdamW&) = delete;
  ShardedAdamW& operator=(const ShardedAdamW&) = delete;

  // Before the last backward of a step: each bucket's reduce-scatter starts as soon as backward has
  // finished its gradients.
  void arm();
  // Buckets whose reduce-scatter started during the last armed backward.
  int64_t started_in_backward() const { return trigger_->started_in_backward(); }

  // A collective: after backward, every parameter must have a gradient of its own shape and dtype on
  // every rank (an error names the one that has none). Returns the global norm of the summed gradients
  // before clipping; clips when max_norm > 0; when the norm is finite, updates every parameter with
  // learning rate lr (same on every rank), else changes nothing (step_count() stays).
  double step(double lr, double max_norm);

  // The number of updates so far (steps with a finite norm), as AdamW::step_count().
  int64_t step_count() const;
  const AdamWConfig& config() const { return config_; }
  const ParameterList& params() const { return params_; }
  const std::vector<GradBucket>& buckets() const { return buckets_; }

  // A collective: the full state of every parameter updated at least once, in parameter-list order, as
  // AdamW::state() gives it (name, step, exp_avg and exp_avg_sq with the parameter's shape, dtype and
  // device). The moments are views of buffers allocated for this call (not this optimizer's own).
  std::vector<AdamWParamState> state();
  // Not a collective: takes the full states (as saved from state() or AdamW::state(), by any world size)
  // and keeps this rank's shard; checks as AdamW::load_state does (every entry names a parameter, once,
  // with 1 <= step <= step_count and moments of the parameter's shape); parameters without an entry
  // start afresh. Every rank must load the same states.
  void load_state(int64_t step_count, const std::vector<AdamWParamState>& state);

  // Copies the current values of the parameters in this rank's shard into the flat buffer that AdamW
  // updates. step() does this itself before every update, so parameters loaded or changed at any time
  // (before or after construction, by resume or init_from) are always picked up: calling it is never
  // required. Not a collective.
  void refresh_params();

  // Bytes of AdamW moments this rank holds (its shard, padding excluded, allocated at the first update
  // or load_state), and what an unsharded AdamW holds for the same parameters.
  int64_t state_bytes() const;
  int64_t unsharded_state_bytes() const;

 private:
  // One (parameter ∩ this rank's shard) run of elements.
  struct Segment {
    size_t param;          // index into params_
    size_t bucket;         // index into buckets_
    int64_t param_offset;  // first element within the parameter
    int64_t flat_offset;   // first element within the bucket's flat buffer
    int64_t numel;
  };

  // Hands bucket i to the communicator's reduce-scatter (a gradient held outside the bucket is copied
  // in first).
  void start(size_t bucket);
  // This rank's sum of squares of the reduced gradient shard, in double.
  double local_sum_squares() const;
  void scale_shard(double coef);
  void check_gradient(const Parameter& p) const;

  dist::Communicator& comm_;
  ParameterList params_;
  AdamWConfig config_;
  std::vector<GradBucket> buckets_;
  DType dtype_;
  Device device_;
  int world_;
  int rank_;
  std::vector<int64_t> shard_numel_;  // per bucket: its padded size / world
  std::vector<Tensor> flat_grad_;     // per bucket, padded; this rank's shard at rank * shard_numel
  std::vector<Tensor> flat_param_;    // per bucket, padded; same layout
  Tensor norm_buf_;                   // world x one double, moved as 2 f32 (bit-exact through all_gather)
  std::vector<Segment> segments_;
  ParameterList segment_params_;      // views of flat_param_ with gradients viewing flat_grad_
  std::unique_ptr<AdamW> adamw_;      // over segment_params_
  std::vector<int64_t> param_step_;   // every parameter's AdamW step (the same on every rank)
  std::unique_ptr<BucketTrigger> trigger_;  // the reduce-scatters, from the backward when armed
};

}  // namespace krait::train
