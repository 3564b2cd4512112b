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
  MambaRecurrence(const MambaBackbone& backbone, std::vector<MambaLayerState> states)
      : backbone_(backbone), states_(std::move(states)) {}
  Tensor advance(const Tensor& ids) override {
    NoGradGuard no_grad;
    return backbone_.forward(ids, states_);
  }

 private:
  const MambaBackbone& backbone_;
  std::vector<MambaLayerState> states_;
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
Tensor MambaBackbone::forward(const Tensor& ids) const { return run(ids, nullptr); }

Tensor MambaBackbone::forward(const Tensor& ids, std::vector<MambaLayerState>& states) const {
  KRAIT_CHECK(states.size() == blocks_.size(), "MambaBackbone: ", states.size(), " layer states for ",
              blocks_.size(), " layers");
  return run(ids, &states);
}

std::unique_ptr<BackboneRecurrence> MambaBackbone::recurrence(int64_t batch) const {
  KRAIT_CHECK(batch > 0, "MambaBackbone: a recurrence needs batch > 0, got ", batch);
  KRAIT_CHECK(compute_dtype_ != DType::BF16, "MambaBackbone: recurrent generation runs in f32 or f64, not bf16 "
              "(the scan's state is kept in the compute dtype)");
  std::vector<MambaLayerState> states;
  for (size_t i = 0; i < blocks_.size(); ++i)
    states.push_back(MambaLayerState::zeros(config_, batch, compute_dtype_, embedding_.weight.value.device()));
  return std::make_unique<MambaRecurrence>(*this, std::move(states));
}

Tensor MambaBackbone::run(const Tensor& ids, std::vector<MambaLayerState>* states) const {
  KRAIT_CHECK(ids.dim() == 2, "MambaBackbone: expected ids (batch, seq_len), got ", ids.describe());
  Tensor residual = embedding_.forward(ids);
  const RMSNorm& first_norm = blocks_.empty() ? norm_f_ : blocks_.front().norm;
  Tensor normed = ops::cast(first_norm.forward(residual), compute_dtype_);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const Tensor mixed = states ? blocks_[i].mixer.forward(normed, (*states)[i]) : blocks_[i].mixer.forward(normed);
    const RMSNorm& next = i + 1 < blocks_.size() ? blocks_[i + 1].norm : norm_f_;
    const TensorList stream = ops::add_rms_norm(mixed, residual, next.weight.value, next.eps, compute_dtype_);
    residual = stream[0];
    normed = stream[1];
  }
  return normed;
}

}  // namespace krait
