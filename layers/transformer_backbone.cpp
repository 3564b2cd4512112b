// layers/transformer_backbone.cpp — TransformerBackbone (see transformer_backbone.h).
#include "layers/transformer_backbone.h"

#include <cmath>

#include "autograd/ops.h"
#include "common/error.h"
#include "layers/init.h"

namespace krait {
namespace {

const TransformerConfig& validated(const TransformerConfig& config) {
  config.validate();
  return config;
}

// x (..., in) times weight (out, in)^T, the fp32 master weight cast to x's dtype (bf16 under mixed
// precision).
Tensor project(const Tensor& x, const Parameter& weight) {
  return ops::matmul_weight(weight.value, x, false, true, false);
}

}  // namespace

TransformerBackbone::TransformerBackbone(const TransformerConfig& config, const TensorOptions& options, Rng& rng)
    : config_(validated(config)),
      embedding_(init::normal("embedding.weight", {config.padded_vocab_size(), config.d_model}, options, rng,
                              config.init_std, {.no_weight_decay = true})),
      norm_f_("norm_f", config.d_model, config.norm_eps, options),
      compute_dtype_(options.dtype) {
  const int64_t d = config.d_model, ff = config.resolved_d_ff();
  const double init_std = config.init_std;
  // GPT-2: each residual branch's output projection shrinks by 1/sqrt(number of residual adds), two
  // per layer, so that the stream's variance does not grow with depth.
  const double out_std = init_std / std::sqrt(2.0 * static_cast<double>(config.n_layer));
  blocks_.reserve(config.n_layer);
  for (int64_t i = 0; i < config.n_layer; ++i) {
    const std::string name = "layers." + std::to_string(i);
    RMSNorm norm(name + ".norm", d, config.norm_eps, options);
    Parameter in_proj = init::normal(name + ".mixer.in_proj.weight", {3 * d, d}, options, rng, init_std);
    Parameter out_proj = init::normal(name + ".mixer.out_proj.weight", {d, d}, options, rng, out_std);
    RMSNorm norm2(name + ".norm2", d, config.norm_eps, options);
    Parameter fc1 = init::normal(name + ".mlp.fc1.weight", {2 * ff, d}, options, rng, init_std);
    Parameter fc2 = init::normal(name + ".mlp.fc2.weight", {d, ff}, options, rng, out_std);
    blocks_.push_back({norm, in_proj, out_proj, norm2, fc1, fc2});
  }
  parameters_.push_back(embedding_);
  for (const TransformerBlock& block : blocks_) {
    block.norm.append_parameters(parameters_);
    parameters_.insert(parameters_.end(), {block.in_proj, block.out_proj});
    block.norm2.append_parameters(parameters_);
    parameters_.insert(parameters_.end(), {block.fc1, block.fc2});
  }
  norm_f_.append_parameters(parameters_);
}

void TransformerBackbone::set_compute_dtype(DType dtype) {
  const Device device = embedding_.value.device();
  KRAIT_CHECK(dtype == embedding_.value.dtype() || (dtype == DType::BF16 && device.is_cuda()),
              "TransformerBackbone: compute dtype ", dtype_name(dtype), " with ", dtype_name(embedding_.value.dtype()),
              " parameters on ", device.str(), " (mixed precision is bf16 compute on CUDA)");
  compute_dtype_ = dtype;
}

// As MambaBackbone: the residual stream stays in the parameters' dtype (fp32) and each branch computes
// in compute_dtype_; a branch's output is added to the stream and normalized for the next branch (or
// the output) by one fused op.
Tensor TransformerBackbone::forward(const Tensor& ids) const {
  KRAIT_CHECK(ids.dim() == 2, "TransformerBackbone: expected ids (batch, seq_len), got ", ids.describe());
  Tensor residual = ops::embedding(embedding_.value, ids);
  const RMSNorm& first_norm = blocks_.empty() ? norm_f_ : blocks_.front().norm;
  Tensor normed = ops::cast(first_norm.forward(residual), compute_dtype_);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const TransformerBlock* block = &blocks_[i];
    const Tensor attended = run_branch([this, block](const Tensor& x) { return attention_branch(*block, x); },
                                       normed, {block->in_proj, block->out_proj});
    TensorList stream = ops::add_rms_norm(attended, residual, block->norm2.weight.value, block->norm2.eps, compute_dtype_);
    const Tensor mlp = run_branch([this, block](const Tensor& x) { return mlp_branch(*block, x); }, stream[1],
                                  {block->fc1, block->fc2});
    const RMSNorm& next = i + 1 < blocks_.size() ? blocks_[i + 1].norm : norm_f_;
    stream = ops::add_rms_norm(mlp, stream[0], next.weight.value, next.eps, compute_dtype_);
    residual = stream[0];
    normed = stream[1];
  }
  return normed;
}

Tensor TransformerBackbone::attention_branch(const TransformerBlock& block, const Tensor& normed) const {
  const Tensor qkv = ops::rotary(project(normed, block.in_proj), config_.n_head, config_.rope_theta);
  return project(ops::causal_attention(qkv, config_.n_head), block.out_proj);
}

Tensor TransformerBackbone::mlp_branch(const TransformerBlock& block, const Tensor& normed) const {
  return project(ops::swiglu(project(normed, block.fc1)), block.fc2);
}

// The recompute units are the branches: the fused add + norms between them stay on the outer tape (one
// kernel, the same numerics), and what they save is the stream a layer needs anyway.
Tensor TransformerBackbone::run_branch(const std::function<Tensor(const Tensor&)>& branch, const Tensor& normed,
                                       const ParameterList& params) const {
  return recompute_layers_ ? ops::recompute(branch, normed, params) : branch(normed);
}

}  // namespace krait
