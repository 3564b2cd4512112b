// layers/mamba_mixer.h — MambaMixer, the Mamba block's sequence mixer (Gu & Dao 2023, Fig. 3):
// in_proj -> (x, z); x -> causal depthwise conv -> SiLU -> x_proj -> (dt, B, C); dt -> dt_proj;
// selective scan with A = -exp(A_log), D skip, softplus(delta + dt bias) and the silu(z) gate;
// out_proj. The config's ablations (paper, Section 4.6) change the parts: conv = false drops the
// conv (x goes from in_proj to the SiLU), gate = false drops z and its gate, and each of delta, B,
// C that config.selective leaves out is learned per channel instead of computed from x: x_proj
// then yields only the input-dependent ones, and there is no x_proj when none is.
#pragma once

#include <optional>

#include "autograd/ops.h"
#include "layers/linear.h"
#include "layers/mamba_config.h"
#include "layers/mamba_state.h"

namespace krait {

class MambaMixer {
 public:
  MambaMixer(const std::string& name, const MambaConfig& config, const TensorOptions& options, Rng& rng);

  Tensor forward(const Tensor& hidden) const;  // (B, L, d_model) -> (B, L, d_model)
  // The same for L tokens continuing the sequences of `state` (from MambaLayerState::zeros: their
  // start), which it advances past them: generation's prefill (the prompt) and step (L = 1). No
  // gradient: run it under NoGradGuard.
  Tensor forward(const Tensor& hidden, MambaLayerState& state) const;

  // What step() reads, cast once for a whole generation to the compute dtype (products, per-channel B
  // and C) or to scan_state_dtype (conv, A = -exp(A_log), D, delta bias), where training casts each
  // f32 weight at each product.
  struct StepWeights {
    Tensor in_proj, in_bias, x_proj, dt_proj, out_proj, out_bias;
    Tensor conv_weight, conv_bias, A, D, delta_bias, B, C;
  };
  StepWeights step_weights(DType dtype) const;
  // One token per sequence: hidden (B, d_model) -> (B, d_model), advancing state; the same as
  // forward(hidden, state) at L = 1 (to rounding) in five kernels: in_proj, the conv step, x_proj,
  // the scan step (with dt_proj fused in) and out_proj. No gradient.
  Tensor step(const Tensor& hidden, MambaLayerState& state, const StepWeights& weights) const;

  void append_parameters(ParameterList& out) const;

  MambaConfig config;
  Linear in_proj;         // d_model -> 2 d_inner (x, z), or d_inner (x) without the gate
  Parameter conv_weight;  // (d_inner, d_conv); undefined without conv
  Parameter conv_bias;    // (d_inner); undefined without conv or conv_bias
  std::optional<Linear> x_proj;   // d_inner -> the input-dependent of dt (dt_rank), B, C (d_state each)
  std::optional<Linear> dt_proj;  // delta input-dependent: dt_rank -> d_inner; its bias is the scan's delta_bias
  Parameter dt_bias;              // delta per channel: (d_inner), softplus(dt_bias) is delta
  Parameter B, C;                 // each per channel when not input-dependent: (d_inner, d_state)
  Parameter A_log;                // (d_inner, d_state)
  Parameter D;                    // (d_inner)
  Linear out_proj;

 private:
  // in_proj's outputs channel-major (B, d_inner, L): x, then z when gated.
  std::vector<Tensor> project_in(const Tensor& hidden) const;
  // forward, with a recurrent state or (null) from zero, differentiable.
  Tensor run(const Tensor& hidden, MambaLayerState* state) const;
  // The scan's inputs from in_proj's x and z (undefined without the gate): conv, SiLU, x_proj, dt_proj,
  // A = -exp(A_log). Training runs it inside the fused scan node, which recomputes it in the backward.
  ops::ScanInputs scan_inputs(const Tensor& x, const Tensor& z, MambaLayerState* state) const;
  // silu(the causal conv of x (B, d_inner, L)), continuing from state->conv when state is given.
  Tensor conv_silu(const Tensor& x, MambaLayerState* state) const;
  // The parameters scan_inputs reads.
  ParameterList scan_input_parameters() const;
};

}  // namespace krait
