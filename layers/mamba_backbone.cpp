// layers/mamba_backbone.cpp — MambaBackbone (see mamba_backbone.h).
#include "layers/mamba_backbone.h"

#include <cmath>

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

MambaBackbone::MambaBackbone(const MambaConfig& config, const TensorOptions& options, Rng& rng,
                             std::shared_ptr<const ExpertExchange> exchange)
    : config_(validated(config)),
      embedding_("embedding", config.padded_vocab_size(), config.d_model, options, rng),
      norm_f_("norm_f", config.d_model, config.norm_eps, options),
      compute_dtype_(options.dtype) {
  blocks_.reserve(config.n_layer);
  // The MoE experts' second layer gets the out_proj's prenorm-residual rescale (layers/init.cpp).
  const double moe_out_scale = 1.0 / std::sqrt(double(config.n_layer));
  for (int64_t i = 0; i < config.n_layer; ++i) {
    const std::string name = "layers." + std::to_string(i);
    blocks_.push_back({RMSNorm(name + ".norm", config.d_model, config.norm_eps, options),
                       MambaMixer(name + ".mixer", config, options, rng), std::nullopt, std::nullopt});
    if (config.moe.enabled()) {
      blocks_.back().moe_norm.emplace(name + ".moe_norm", config.d_model, config.norm_eps, options);
      blocks_.back().moe.emplace(name + ".moe", config.d_model, config.moe, moe_out_scale, options, rng,
                                 config.moe.expert_parallel ? exchange : nullptr);
    }
  }
  embedding_.append_parameters(parameters_);
  for (const MambaBlock& block : blocks_) {
    block.norm.append_parameters(parameters_);
    block.mixer.append_parameters(parameters_);
    if (block.moe) {
      block.moe_norm->append_parameters(parameters_);
      block.moe->append_parameters(parameters_);
    }
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
Tensor MambaBackbone::forward(const Tensor& ids) const { return forward_with_aux(ids).hidden; }

BackboneOutput MambaBackbone::forward_with_aux(const Tensor& ids) const {
  return recompute_layers_ && grad_enabled() ? run_recomputed(ids) : run(ids, nullptr);
}

Tensor MambaBackbone::forward(const Tensor& ids, std::vector<MambaLayerState>& states) const {
  KRAIT_CHECK(states.size() == blocks_.size(), "MambaBackbone: ", states.size(), " layer states for ",
              blocks_.size(), " layers");
  return run(ids, &states).hidden;
}

// MoE-Mamba has none: its routing depends on the batch (capacity), so a token's output would depend on
// what else is generated with it.
std::unique_ptr<BackboneRecurrence> MambaBackbone::recurrence(int64_t batch) const {
  if (config_.moe.enabled()) return nullptr;
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
  return run(ids, &states, &weights).hidden;
}

Tensor MambaBackbone::moe_layer(const MambaBlock& block, const Tensor& normed, BackboneOutput& out) const {
  SwitchMoEOutput moe = block.moe->forward(normed);
  out.aux_loss = out.aux_loss.defined() ? ops::add(out.aux_loss, moe.aux_loss) : moe.aux_loss;
  out.expert_loads.push_back(moe.load);
  return moe.y;
}

void MambaBackbone::weigh_aux(BackboneOutput& out) const {
  if (out.aux_loss.defined()) out.aux_loss = ops::scale(out.aux_loss, config_.moe.aux_weight / double(blocks_.size()));
}

// The recompute unit is a whole block, from the fp32 stream to the next: all it keeps is that stream
// (4 bytes a value; Mamba-130M at 2^20 tokens keeps 75 GB), and the block's norm runs unfused from the
// residual add, both recomputed in the backward. A unit of the mixer alone would also keep its bf16
// input beside the stream that the fused add + norm saves: 1.5x the memory, too much for 2^20 tokens.
BackboneOutput MambaBackbone::run_recomputed(const Tensor& ids) const {
  BackboneOutput out;
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
    if (block.moe) {  // kept, not recomputed: a recompute unit has one output, and MoE has its aux loss too
      const Tensor moe = moe_layer(block, ops::cast(block.moe_norm->forward(residual), compute_dtype_), out);
      residual = ops::add(residual, ops::cast(moe, residual.dtype()));
    }
  }
  out.hidden = ops::cast(norm_f_.forward(residual), compute_dtype_);
  weigh_aux(out);
  return out;
}

BackboneOutput MambaBackbone::run(const Tensor& ids, std::vector<MambaLayerState>* states,
                                  const std::vector<MambaMixer::StepWeights>* step_weights) const {
  KRAIT_CHECK(ids.dim() == 2, "MambaBackbone: expected ids (batch, seq_len), got ", ids.describe());
  BackboneOutput out;
  Tensor residual = embedding_.forward(ids);
  const RMSNorm& first_norm = blocks_.empty() ? norm_f_ : blocks_.front().norm;
  Tensor normed = ops::cast(first_norm.forward(residual), compute_dtype_);
  const Shape token_major{ids.size(0), config_.d_model}, sequence_major = normed.shape();
  // residual += x, then normed = norm(residual), in one fused op.
  const auto add_and_norm = [&](const Tensor& x, const RMSNorm& norm) {
    const TensorList stream = ops::add_rms_norm(x, residual, norm.weight.value, norm.eps, compute_dtype_);
    residual = stream[0];
    normed = stream[1];
  };
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const MambaBlock& block = blocks_[i];
    const MambaMixer& mixer = block.mixer;
    const Tensor mixed =
        step_weights ? ops::reshape(mixer.step(ops::reshape(normed, token_major), (*states)[i], (*step_weights)[i]),
                                    sequence_major)
        : states     ? mixer.forward(normed, (*states)[i])
                     : mixer.forward(normed);
    const RMSNorm& next = i + 1 < blocks_.size() ? blocks_[i + 1].norm : norm_f_;
    if (!block.moe) {
      add_and_norm(mixed, next);
      continue;
    }
    add_and_norm(mixed, *block.moe_norm);
    add_and_norm(moe_layer(block, normed, out), next);
  }
  out.hidden = normed;
  weigh_aux(out);
  return out;
}

}  // namespace krait
