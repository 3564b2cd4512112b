// layers/transformer_backbone.h — TransformerBackbone, the Transformer++ of the Mamba paper: an
// embedding, n_layer prenorm blocks and a final RMSNorm, where each block is
//   residual += out_proj(causal_attention(rotary(in_proj(RMSNorm(residual)))))
//   residual += fc2(swiglu(fc1(RMSNorm(residual))))
// with no biases. Parameter names follow mamba_ssm's Block with an MHA mixer and a GatedMLP:
// layers.i.{norm, mixer.in_proj, mixer.out_proj, norm2, mlp.fc1, mlp.fc2}.weight.
#pragma once

#include <functional>
#include <vector>

#include "common/rng.h"
#include "layers/backbone.h"
#include "layers/rms_norm.h"
#include "layers/transformer_config.h"

namespace krait {

struct TransformerBlock {
  RMSNorm norm;           // before attention
  Parameter in_proj;      // (3 d_model, d_model): the query heads' rows, then the keys', then the values'
  Parameter out_proj;     // (d_model, d_model)
  RMSNorm norm2;          // before the MLP
  Parameter fc1;          // (2 d_ff, d_model): the gate's rows, then the value's
  Parameter fc2;          // (d_model, d_ff)
};

class TransformerBackbone final : public Backbone {
 public:
  // Draws the embedding, then each layer's in_proj, out_proj, fc1 and fc2, from rng; a head draws next.
  TransformerBackbone(const TransformerConfig& config, const TensorOptions& options, Rng& rng);

  Tensor forward(const Tensor& ids) const override;
  const ParameterList& parameters() const override { return parameters_; }
  const Parameter& input_embedding() const override { return embedding_; }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t d_model() const override { return config_.d_model; }
  void set_compute_dtype(DType dtype) override;
  DType compute_dtype() const override { return compute_dtype_; }
  // Keeps per layer each branch's input (the two normalized streams, compute dtype) and, as without
  // it, what the two fused residual adds + RMSNorms save (the fp32 stream and a per-row rstd each);
  // attention (qkv, output, log-sum-exp) and the MLP (fc1's output) run again in the backward.
  void set_recompute_layers(bool enabled) override { recompute_layers_ = enabled; }
  const TransformerConfig& config() const { return config_; }

 private:
  TransformerConfig config_;
  Parameter embedding_;  // (padded vocab, d_model)
  std::vector<TransformerBlock> blocks_;
  RMSNorm norm_f_;
  ParameterList parameters_;
  DType compute_dtype_;
  bool recompute_layers_ = false;

  // The two residual branches, normalized stream in, branch output out.
  Tensor attention_branch(const TransformerBlock& block, const Tensor& normed) const;
  Tensor mlp_branch(const TransformerBlock& block, const Tensor& normed) const;
  // branch(normed), through ops::recompute when recompute_layers_.
  Tensor run_branch(const std::function<Tensor(const Tensor&)>& branch, const Tensor& normed,
                    const ParameterList& params) const;
};

}  // namespace krait
