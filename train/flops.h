// train/flops.h — Krait's parameter and training-FLOPs conventions, shared by `krait bench train`
// (MFU), run summaries (train/run_summary.h) and sweeps (train/sweep_spec.h):
//
//   params_total          every trained parameter (Model::num_parameters)
//   params_non_embedding  params_total minus the input embedding matrix (padded vocab x d_model);
//                         with tied embeddings the LM head is that same matrix, so it adds nothing
//   flops_per_token       6 N, N = params_total (forward 2, backward 4 per parameter: Chinchilla's
//                         C = 6 N D with all parameters counted, Hoffmann et al. 2022), plus for a
//                         Transformer 12 x n_layer x d_model x seq_len for attention's L^2 terms
//                         (PaLM's count, Chowdhery et al. 2022, appendix B); for MoE-Mamba N counts
//                         the parameters a token uses: the experts it is not routed to are left out
//
// Counting all parameters makes 6 N the matmul work of a tied-embedding model (the head's V x d
// product is real compute), which is what MFU needs; an untied model's input lookup is counted too,
// though it costs nothing. Kaplan-style fits can use params_non_embedding from the summary instead.
#pragma once

#include <cstdint>
#include <string>

#include "layers/model_spec.h"

namespace krait::train {

struct ParameterCount {
  int64_t total = 0;
  int64_t embedding = 0;  // the input embedding matrix
  int64_t non_embedding() const { return total - embedding; }
};

// The parameters build_model(spec) would make, counted from the shapes without building it (so that
// a 1.3B sweep expands in microseconds). Mamba (with its ablations) and Transformer backbones, language
// model or classifier heads (num_classes >= 2); throws naming model.backbone for any other backbone.
ParameterCount count_parameters(const ModelSpec& spec);

// The input embedding matrix's size, padded vocab x d_model.
int64_t embedding_parameters(const ModelSpec& spec);

// Training FLOPs per token (see above); parameters is params_total (MoE-Mamba's idle experts are taken
// off here).
double flops_per_token(const ModelSpec& spec, int64_t parameters, int64_t seq_len);

// The run's training FLOPs as a formula, for the summary: "tokens * 6*params_total", plus
// " + 12*n_layer*d_model*seq_len" inside the product for a Transformer.
std::string flops_formula(const ModelSpec& spec);

}  // namespace krait::train
