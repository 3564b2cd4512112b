// layers/mamba_mixer.h — MambaMixer, the Mamba block's sequence mixer (Gu & Dao 2023, Fig. 3):
// in_proj -> (x, z); x -> causal depthwise conv -> SiLU -> x_proj -> (dt, B, C); dt -> dt_proj;
// selective scan with A = -exp(A_log), D skip, softplus(delta + dt bias) and the silu(z) gate;
// out_proj. With config.selective = false, delta, B and C are learned per channel and do not
// depend on the input (the time-invariant S4D-style ablation): no x_proj or dt_proj then.
#pragma once

#include <optional>

#include "layers/linear.h"
#include "layers/mamba_config.h"

namespace krait {

class MambaMixer {
 public:
  MambaMixer(const std::string& name, const MambaConfig& config, const TensorOptions& options, Rng& rng);

  Tensor forward(const Tensor& hidden) const;  // (B, L, d_model) -> (B, L, d_model)
  void append_parameters(ParameterList& out) const;

  MambaConfig config;
  Linear in_proj;
  Parameter conv_weight;  // (d_inner, d_conv)
  Parameter conv_bias;    // (d_inner); value undefined without conv_bias
  std::optional<Linear> x_proj;   // selective only: d_inner -> dt_rank + 2 d_state
  std::optional<Linear> dt_proj;  // selective only: dt_rank -> d_inner; its bias is the scan's delta_bias
  Parameter dt_bias;              // time-invariant only: (d_inner), softplus(dt_bias) is delta
  Parameter B, C;                 // time-invariant only: (d_inner, d_state)
  Parameter A_log;                // (d_inner, d_state)
  Parameter D;                    // (d_inner)
  Linear out_proj;
};

}  // namespace krait
