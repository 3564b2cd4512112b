// train/flops.cpp — count_parameters, flops_per_token and flops_formula (see flops.h).
#include "train/flops.h"

#include "common/error.h"

namespace krait::train {
namespace {

// One Mamba block: its RMSNorm and mixer (layers/mamba_mixer.cpp).
int64_t mamba_block(const MambaConfig& c) {
  const int64_t D = c.d_model, E = c.d_inner(), N = c.d_state, R = c.resolved_dt_rank(), K = c.d_conv;
  const Selectivity& s = c.selective;
  const int64_t in_rows = (c.gate ? 2 : 1) * E;
  int64_t n = D;                                                     // norm
  n += in_rows * D + (c.bias ? in_rows : 0);                         // in_proj
  if (c.conv) n += E * K + (c.conv_bias ? E : 0);                    // conv1d
  n += E * ((s.delta ? R : 0) + (s.B ? N : 0) + (s.C ? N : 0));      // x_proj
  n += s.delta ? R * E + E : E;                                      // dt_proj (+ bias), or dt_bias
  n += (s.B ? 0 : E * N) + (s.C ? 0 : E * N);                        // learned B, C
  n += E * N + E;                                                    // A_log, D
  n += E * D + (c.bias ? D : 0);                                     // out_proj
  return n;
}

// One MoE-Mamba MoE layer: its RMSNorm, the router and the experts' two matrices.
int64_t moe_block(const MambaConfig& c) {
  const int64_t D = c.d_model, E = c.moe.experts, H = c.moe.resolved_hidden(D);
  return D + E * D + E * 2 * D * H;
}

// The experts a token does not visit: moe_block's parameters that do no work for it, per MoE layer.
int64_t idle_expert_parameters(const MambaConfig& c) {
  return (c.moe.experts - c.moe.top_k) * 2 * c.d_model * c.moe.resolved_hidden(c.d_model);
}

// One Transformer++ layer: two RMSNorms, attention in/out projections, the SwiGLU MLP.
int64_t transformer_block(const TransformerConfig& c) {
  const int64_t d = c.d_model, ff = c.resolved_d_ff();
  return 2 * d + 4 * d * d + 3 * ff * d;
}

}  // namespace

int64_t embedding_parameters(const ModelSpec& spec) {
  const int64_t vocab =
      spec.is_transformer() ? spec.transformer.padded_vocab_size() : spec.mamba.padded_vocab_size();
  return vocab * spec.d_model();
}

ParameterCount count_parameters(const ModelSpec& spec) {
  KRAIT_CHECK(spec.backbone == "mamba" || spec.backbone == "moe-mamba" || spec.backbone == "transformer",
              "model.backbone: '", spec.backbone,
              "' has no parameter count formula (train/flops.cpp knows mamba, moe-mamba and transformer)");
  const int64_t d = spec.d_model(), embedding = embedding_parameters(spec);
  int64_t block = spec.is_transformer() ? transformer_block(spec.transformer) : mamba_block(spec.mamba);
  if (spec.backbone == "moe-mamba") block += moe_block(spec.mamba);
  const bool tied = spec.is_transformer() ? spec.transformer.tie_embeddings : spec.mamba.tie_embeddings;
  int64_t total = embedding + spec.n_layer() * block + d;  // + the final norm
  if (spec.task == Task::Classify) {
    KRAIT_CHECK(spec.num_classes >= 2, "model.num_classes: counting a classifier's parameters needs it (got ",
                spec.num_classes, ")");
    total += spec.num_classes * d + spec.num_classes;
  } else if (!tied) {
    total += embedding;  // the LM head's own matrix
  }
  return {total, embedding};
}

double flops_per_token(const ModelSpec& spec, int64_t parameters, int64_t seq_len) {
  if (spec.backbone == "moe-mamba") parameters -= spec.n_layer() * idle_expert_parameters(spec.mamba);
  double flops = 6.0 * double(parameters);
  if (spec.is_transformer()) flops += 12.0 * double(spec.n_layer()) * double(spec.d_model()) * double(seq_len);
  return flops;
}

std::string flops_formula(const ModelSpec& spec) {
  if (spec.backbone == "moe-mamba") return "tokens * 6*(params_total - n_layer*(experts-top_k)*2*d_model*moe_hidden)";
  return spec.is_transformer() ? "tokens * (6*params_total + 12*n_layer*d_model*seq_len)" : "tokens * 6*params_total";
}

}  // namespace krait::train
