// optim/adamw.h — AdamW (decoupled weight decay, as torch.optim.AdamW) over a ParameterList, with
// its state exposed by parameter name for checkpoints.
//
// Weight decay rule: a parameter tagged no_weight_decay gets weight decay 0; every other parameter
// gets AdamWConfig::weight_decay. The layers set the tag on biases, norm weights, embeddings, A_log
// and D, so the optimizer keeps no lists of its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/parameter.h"
#include "autograd/tensor.h"

namespace krait {

struct AdamWConfig {
  double lr = 1e-3;  // used by step(); step(lr) overrides it (e.g. from an LrSchedule)
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
  // Throws krait::Error naming the first field out of range (lr, eps, weight_decay >= 0; betas in [0, 1)).
  void validate() const;
};

// The state of one parameter: how many updates it has received (its own bias-correction t, as in
// torch, so a parameter that missed a gradient lags behind) and its first and second moments, which
// have the parameter's shape and device, f32 for f32 parameters and f64 for f64 ones.
struct AdamWParamState {
  std::string name;
  int64_t step = 0;
  Tensor exp_avg;
  Tensor exp_avg_sq;
};

class AdamW {
 public:
  // Keeps the list (the tensors share storage with the model's). Names must be unique.
  AdamW(ParameterList params, const AdamWConfig& config);

  // One update of every parameter that has a gradient, with learning rate lr; a parameter without
  // a gradient is skipped and its state left as it is. Moments are allocated at a parameter's first
  // update. Every parameter is checked (f32, or f64 on the CPU; gradient of the same shape, dtype and
  // device) before any is changed. The CUDA parameters of a device are updated by one multi-tensor
  // launch, bit-identical to the CPU update.
  void step(double lr);
  void step() { step(config_.lr); }

  // The number of step() calls so far.
  int64_t step_count() const { return step_count_; }
  const AdamWConfig& config() const { return config_; }
  const ParameterList& params() const { return params_; }

  // The state of every parameter updated at least once, in parameter-list order. The tensors are
  // the optimizer's own (not copies): clone them to keep a snapshot.
  std::vector<AdamWParamState> state() const;
  // The inverse of state(): copies the moments in (converting dtype) and sets step_count. Every
  // entry must name a parameter of this optimizer, once, with step >= 1 and moments of the
  // parameter's shape; parameters without an entry start afresh.
  void load_state(int64_t step_count, const std::vector<AdamWParamState>& state);

 private:
  struct Slot {
    int64_t step = 0;
    Tensor exp_avg;
    Tensor exp_avg_sq;
  };

  ParameterList params_;
  AdamWConfig config_;
  std::vector<Slot> slots_;  // one per parameter, same order
  int64_t step_count_ = 0;
};

}  // namespace krait
