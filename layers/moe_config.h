// layers/moe_config.h — MoeConfig: the Switch mixture-of-experts layers of MoE-Mamba (Pióro et al.,
// arXiv 2401.04081): how many experts, how tokens are routed to them, the load-balancing loss, and
// the experts' width. Defaults are the paper's (top-1, capacity factor 1, aux weight 0.01, hidden 3 x
// d_model).
#pragma once

#include <cstdint>

namespace krait {

struct MoeConfig {
  int64_t experts = 0;           // 0: no MoE layers (plain Mamba)
  int64_t top_k = 1;             // 1: Switch; 2: each token to its two best experts
  double capacity_factor = 1.0;  // an expert takes ceil(factor x top_k x tokens / experts) tokens a batch
  double aux_weight = 0.01;      // weight of the load-balancing loss (mean over the MoE layers)
  int64_t hidden = 0;            // each expert's hidden width; 0 = 3 x d_model
  // Experts sharded over the data-parallel ranks, tokens exchanged all-to-all (train/ supplies the
  // exchange; one rank, or none given, runs every expert itself).
  bool expert_parallel = false;

  bool operator==(const MoeConfig&) const = default;
  bool enabled() const { return experts > 0; }
  int64_t resolved_hidden(int64_t d_model) const { return hidden > 0 ? hidden : 3 * d_model; }
  // Rows of each expert's buffer for `tokens` tokens.
  int64_t capacity(int64_t tokens) const;
  // Throws krait::Error naming the first field out of range (experts >= 1 when enabled).
  void validate() const;
};

}  // namespace krait
