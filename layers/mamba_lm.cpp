// layers/mamba_lm.cpp — MambaLM (see mamba_lm.h).
#include "layers/mamba_lm.h"

#include "autograd/ops.h"
#include "common/error.h"

namespace krait {

namespace {
const MambaConfig& validated(const MambaConfig& config) {
  config.validate();
  return config;
}
}  // namespace

MambaLM::MambaLM(const MambaConfig& config, uint64_t seed, TensorOptions options) : MambaLM(validated(config), options, Rng(seed)) {}

// Parameters are drawn from `rng` in the reference's order: embedding, then each layer, then the head.
MambaLM::MambaLM(const MambaConfig& config, const TensorOptions& options, Rng rng)
    : config_(config),
      embedding_("embedding", config.padded_vocab_size(), config.d_model, options, rng),
      norm_f_("norm_f", config.d_model, config.norm_eps, options),
      compute_dtype_(options.dtype) {
  const int64_t vocab = config.padded_vocab_size();
  blocks_.reserve(config.n_layer);
  for (int64_t i = 0; i < config.n_layer; ++i) {
    const std::string name = "layers." + std::to_string(i);
    blocks_.push_back({RMSNorm(name + ".norm", config.d_model, config.norm_eps, options),
                       MambaMixer(name + ".mixer", config, options, rng)});
  }
  if (!config.tie_embeddings)
    lm_head_ = init::uniform("lm_head.weight", {vocab, config.d_model}, options, rng, init::default_bound(config.d_model));

  embedding_.append_parameters(parameters_);
  for (const MambaBlock& block : blocks_) {
    block.norm.append_parameters(parameters_);
    block.mixer.append_parameters(parameters_);
  }
  norm_f_.append_parameters(parameters_);
  if (lm_head_.value.defined()) parameters_.push_back(lm_head_);
}

void MambaLM::set_compute_dtype(DType dtype) {
  const Device device = embedding_.weight.value.device();
  KRAIT_CHECK(dtype == embedding_.weight.value.dtype() || (dtype == DType::BF16 && device.is_cuda()),
              "MambaLM: compute dtype ", dtype_name(dtype), " with ", dtype_name(embedding_.weight.value.dtype()),
              " parameters on ", device.str(), " (mixed precision is bf16 compute on CUDA)");
  compute_dtype_ = dtype;
}

// The residual stream stays in the parameters' dtype (fp32); each mixer and the head compute in
// compute_dtype_. Each mixer's output is added to the stream and normalized for the next block (or the
// head) by one fused op.
Tensor MambaLM::forward(const Tensor& ids) const {
  KRAIT_CHECK(ids.dim() == 2, "MambaLM: expected token ids (batch, seq_len), got ", ids.describe());
  Tensor residual = embedding_.forward(ids);
  const RMSNorm& first_norm = blocks_.empty() ? norm_f_ : blocks_.front().norm;
  Tensor normed = ops::cast(first_norm.forward(residual), compute_dtype_);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const Tensor mixed = blocks_[i].mixer.forward(normed);
    const RMSNorm& next = i + 1 < blocks_.size() ? blocks_[i + 1].norm : norm_f_;
    const TensorList stream = ops::add_rms_norm(mixed, residual, next.weight.value, next.eps, compute_dtype_);
    residual = stream[0];
    normed = stream[1];
  }
  const Tensor head = lm_head_.value.defined() ? lm_head_.value : embedding_.weight.value;
  return ops::matmul(normed, ops::cast(head, compute_dtype_), false, true);
}

Tensor MambaLM::loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index, ops::Reduction reduction) const {
  KRAIT_CHECK(targets.shape() == ids.shape(), "MambaLM::loss: targets ", targets.describe(), " do not match ids ",
              ids.describe());
  const Tensor logits = forward(ids);
  const int64_t rows = ids.numel(), vocab = logits.size(-1);
  return ops::cross_entropy(ops::reshape(logits, {rows, vocab}), targets.view({rows}), ignore_index,
                             reduction);
}

int64_t MambaLM::num_parameters() const {
  int64_t n = 0;
  for (const Parameter& p : parameters_) n += p.value.numel();
  return n;
}

}  // namespace krait
