// layers/mamba_backbone.cpp — MambaBackbone (see mamba_backbone.h).
#include "layers/mamba_backbone.h"

#include "autograd/ops.h"
#include "autograd/tape.h"
#include "common/error.h"

namespace krait {

namespace {
const MambaConfig& validated(const MambaConfig& config) {
  config.validate();
  return config;
}

class MambaRecurrence final : public BackboneRecurrence {
 public:
  MambaRecurrence(const MambaBackbone& backbone, std::vector<MambaLayerState> states,
                  std::vector<MambaMixer::StepWeights> weights)
      : backbone_(backbone), states_(std::move(states)), weights_(std::move(weights)) {}
  // A prompt goes through the parallel forward (the scan); one token per sequence through the step.
  Tensor advance(const Tensor& ids) override {
    NoGradGuard no_grad;
    return ids.dim() == 2 && ids.size(1) == 1 ? backbone_.step(ids, states_, weights_) : backbone_.forward(ids, states_);
  }

 private:
  const MambaBackbone& backbone_;
  std::vector<MambaLayerState> states_;
  std::vector<MambaMixer::StepWeights> weights_;
};
}  // namespace

MambaBackbone::MambaBackbone(const MambaConfig& config, const TensorOptions& options, Rng& rng)
    : config_(validated(config)),
      embedding_("embedding", config.padded_vocab_size(), config.d_model, options, rng),
      norm_f_("norm_f", config.d_model, config.norm_eps, options),
      compute_dtype_(options.dtype) {
  blocks_.reserve(config.n_layer);
  for (int64_t i = 0; i < config.n_layer; ++i) {
    const std::string name = "layers." + std::to_string(i);
    blocks_.push_back({RMSNorm(name + ".norm", config.d_model, config.norm_eps, options),
                       MambaMixer(name + ".mixer", config, options, rng)});
  }
  embedding_.append_parameters(parameters_);
  for (const MambaBlock& block : blocks_) {
    block.norm.append_parameters(parameters_);
    block.mixer.append_parameters(parameters_);
  }
  norm_f_.append_parameters(parameters_);
}

void MambaBackbone::set_compute_dtype(DType dtype) {
  const Device device = embedding_.weight.value.device();
  KRAIT_CHECK(dtype == embedding_.weight.value.dtype() || (dtype == DType::BF16 && device.is_cuda()),
              "MambaBackbone: compute dtype ", dtype_name(dtype), " with ", dtype_name(embedding_.weight.value.dtype()),
              " parameters on ", device.str(), " (mixed precision is bf16 compute on CUDA)");
  compute_dtype_ = dtype;
}

// The residual stream stays in the parameters' dtype (fp32); each mixer computes in compute_dtype_.
// Each mixer's output is added to the stream and normalized for the next block (or the output) by
// one fused op.
Tensor MambaBackbone::forward(const Tensor& ids) const {
  return recompute_layers_ && grad_enabled() ? run_recomputed(ids) : run(ids, nullptr);
}

Tensor MambaBackbone::forward(const Tensor& ids, std::vector<MambaLayerState>& states) const {
  KRAIT_CHECK(states.size() == blocks_.size(), "MambaBackbone: ", states.size(), " layer states for ",
              blocks_.size(), " layers");
  return run(ids, &states);
}

std::unique_ptr<BackboneRecurrence> MambaBackbone::recurrence(int64_t batch) const {
  KRAIT_CHECK(batch > 0, "MambaBackbone: a recurrence needs batch > 0, got ", batch);
  std::vector<MambaLayerState> states;
  std::vector<MambaMixer::StepWeights> weights;
  for (const MambaBlock& block : blocks_) {
    states.push_back(MambaLayerState::zeros(config_, batch, compute_dtype_, embedding_.weight.value.device()));
    weights.push_back(block.mixer.step_weights(compute_dtype_));
  }
  return std::make_unique<MambaRecurrence>(*this, std::move(states), std::move(weights));
}

Tensor MambaBackbone::step(const Tensor& ids, std::vector<MambaLayerState>& states,
                           const std::vector<MambaMixer::StepWeights>& weights) const {
  KRAIT_CHECK(ids.dim() == 2 && ids.size(1) == 1, "MambaBackbone::step: expected ids (batch, 1), got ", ids.describe());
  KRAIT_CHECK(states.size() == blocks_.size() && weights.size() == blocks_.size(), "MambaBackbone::step: ",
              states.size(), " states and ", weights.size(), " step weights for ", blocks_.size(), " layers");
  return run(ids, &states, &weights);
}

// The recompute unit is a whole block, from the fp32 stream to the next: all it keeps is that stream
// (4 bytes a value; Mamba-130M at 2^20 tokens keeps 75 GB), and the block's norm runs unfused from the
// residual add, both recomputed in the backward. A unit of the mixer alone would also keep its bf16
// input beside the stream that the fused add + norm saves: 1.5x the memory, too much for 2^20 tokens.
Tensor MambaBackbone::run_recomputed(const Tensor& ids) const {
  Tensor residual = embedding_.forward(ids);
  for (const MambaBlock& block : blocks_) {
    ParameterList params;
    block.norm.append_parameters(params);
    block.mixer.append_parameters(params);
    residual = ops::recompute(
        [b = &block, dtype = compute_dtype_](const Tensor& stream) {
          const Tensor mixed = b->mixer.forward(ops::cast(b->norm.forward(stream), dtype));
          return ops::add(stream, ops::cast(mixed, stream.dtype()));
        },
        residual, params);
  }
  return ops::cast(norm_f_.forward(residual), compute_dtype_);
}

Tensor MambaBackbone::run(const Tensor& ids, std::vector<MambaLayerState>* states,
                          const std::vector<MambaMixer::StepWeights>* step_weights) const {
  KRAIT_CHECK(ids.dim() == 2, "MambaBackbone: expected ids (batch, seq_len), got ", ids.describe());
  Tensor residual = embedding_.forward(ids);
  const RMSNorm& first_norm = blocks_.empty() ? norm_f_ : blocks_.front().norm;
  Tensor normed = ops::cast(first_norm.forward(residual), compute_dtype_);
  const Shape token_major{ids.size(0), config_.d_model}, sequence_major = normed.shape();
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const MambaMixer& mixer = blocks_[i].mixer;
    const Tensor mixed =
        step_weights ? ops::reshape(mixer.step(ops::reshape(normed, token_major), (*states)[i], (*step_weights)[i]),
                                    sequence_major)
        : states     ? mixer.forward(normed, (*states)[i])
                     : mixer.forward(normed);
    const RMSNorm& next = i + 1 < blocks_.size() ? blocks_[i + 1].norm : norm_f_;
    const TensorList stream = ops::add_rms_norm(mixed, residual, next.weight.value, next.eps, compute_dtype_);
    residual = stream[0];
    normed = stream[1];
  }
  return normed;
}

}  // namespace krait
