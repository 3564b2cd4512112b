// layers/mamba_mixer.cpp — MambaMixer (see mamba_mixer.h). Initialization follows the reference's
// Mamba.__init__ and MambaLMHeadModel._init_weights.
#include "layers/mamba_mixer.h"

#include <cmath>

#include "autograd/ops.h"
#include "common/error.h"

namespace krait {
namespace {

// The inverse of softplus, so that softplus(bias) = dt: dt + log(-expm1(-dt)).
double inverse_softplus(double dt) { return dt + std::log(-std::expm1(-dt)); }

// dt ~ exp(U(log dt_min, log dt_max)), floored at dt_init_floor, stored through inverse softplus.
Parameter dt_bias_param(const std::string& name, const MambaConfig& c, const TensorOptions& options, Rng& rng) {
  return init::make(name, {c.d_inner()}, options, [&](int64_t) {
    const double dt = std::exp(rng.uniform(std::log(c.dt_min), std::log(c.dt_max)));
    return inverse_softplus(std::max(dt, c.dt_init_floor));
  }, {.no_weight_decay = true});
}

}  // namespace

MambaMixer::MambaMixer(const std::string& name, const MambaConfig& c, const TensorOptions& options, Rng& rng)
    : config(c),
      in_proj(name + ".in_proj", c.d_model, 2 * c.d_inner(), c.bias, options, rng),
      out_proj(name + ".out_proj", c.d_inner(), c.d_model, c.bias, options, rng) {
  const int64_t E = c.d_inner(), N = c.d_state, R = c.resolved_dt_rank(), K = c.d_conv;
  // PyTorch's Conv1d default: fan_in = in_channels / groups * kernel = K.
  conv_weight = init::uniform(name + ".conv1d.weight", {E, K}, options, rng, init::default_bound(K));
  if (c.conv_bias)
    conv_bias = init::uniform(name + ".conv1d.bias", {E}, options, rng, init::default_bound(K), {.no_weight_decay = true});
  if (c.selective) {
    x_proj.emplace(name + ".x_proj", E, R + 2 * N, false, options, rng);
    dt_proj.emplace(name + ".dt_proj", R, E, false, options, rng);
    const double bound = std::pow(static_cast<double>(R), -0.5) * c.dt_scale;
    dt_proj->weight = init::uniform(name + ".dt_proj.weight", {E, R}, options, rng, bound);
    dt_proj->bias = dt_bias_param(name + ".dt_proj.bias", c, options, rng);
  } else {
    dt_bias = dt_bias_param(name + ".dt_bias", c, options, rng);
    B = init::constant(name + ".B", {E, N}, options, 1.0);
    C = init::normal(name + ".C", {E, N}, options, rng, 1.0);
  }
  // S4D-real: A = -(1..N) for every channel, stored as its log; D = 1. Both stay fp32, no decay.
  const ParamTags fp32_no_decay{.no_weight_decay = true, .fp32_only = true};
  A_log = init::make(name + ".A_log", {E, N}, options, [N](int64_t i) { return std::log(double(i % N + 1)); },
                     fp32_no_decay);
  D = init::constant(name + ".D", {E}, options, 1.0, fp32_no_decay);
  // The reference rescales out_proj by 1/sqrt(n_layer) (GPT-2's prenorm-residual rule, one
  // residual per layer), after its default kaiming-uniform draw.
  out_proj.weight = init::make(name + ".out_proj.weight", out_proj.weight.value.shape(), options, [&](int64_t) {
    return rng.uniform(-1.0, 1.0) * init::default_bound(E) / std::sqrt(static_cast<double>(c.n_layer));
  });
}

// The mixer runs channel-major, (B, channels, L), which is how the conv and the scan read their inputs:
// each projection into it is one product per batch element with the weight on the left, and out_proj
// reads it transposed, so no activation is copied into another layout. (An in_proj bias, which the
// reference recipe does not use, would broadcast along the channel axis: that case projects
// token-major and transposes.)
Tensor MambaMixer::forward(const Tensor& hidden) const {
  KRAIT_CHECK(hidden.dim() == 3 && hidden.size(2) == config.d_model, "MambaMixer: expected hidden (B, L, ",
              config.d_model, "), got ", hidden.describe());
  const int64_t E = config.d_inner(), N = config.d_state, R = config.resolved_dt_rank();
  const DType dtype = hidden.dtype();
  const auto weight = [dtype](const Linear& l) { return ops::cast(l.weight.value, dtype); };
  Tensor x, z;
  if (in_proj.bias.value.defined()) {
    const auto xz = ops::split(in_proj.forward(hidden), -1, {E, E});
    x = ops::transpose(xz[0], 1, 2);
    z = ops::transpose(xz[1], 1, 2);
  } else {
    const auto w = ops::split(weight(in_proj), 0, {E, E});
    x = ops::matmul(w[0], hidden, false, true);
    z = ops::matmul(w[1], hidden, false, true);
  }
  x = ops::silu(ops::causal_conv1d(x, conv_weight.value, conv_bias.value));

  ops::ScanInputs scan;
  scan.u = x;
  scan.z = z;
  scan.A = ops::scale(ops::exp(A_log.value), -1.0);
  scan.D_skip = D.value;
  scan.delta_softplus = true;
  if (config.selective) {
    const auto dbc = ops::split(ops::matmul(weight(*x_proj), x), 1, {R, N, N});
    scan.delta = ops::matmul(weight(*dt_proj), dbc[0]);
    scan.delta_bias = dt_proj->bias.value;
    scan.B = dbc[1];
    scan.C = dbc[2];
  } else {
    scan.delta = Tensor::zeros(x.shape(), x.dtype(), x.device());
    scan.delta_bias = dt_bias.value;
    scan.B = ops::cast(B.value, x.dtype());
    scan.C = ops::cast(C.value, x.dtype());
  }
  const Tensor y = ops::matmul(ops::selective_scan(scan), weight(out_proj), true, true);
  return out_proj.bias.value.defined() ? ops::add(y, ops::cast(out_proj.bias.value, dtype)) : y;
}

void MambaMixer::append_parameters(ParameterList& out) const {
  in_proj.append_parameters(out);
  out.push_back(conv_weight);
  if (conv_bias.value.defined()) out.push_back(conv_bias);
  if (config.selective) {
    x_proj->append_parameters(out);
    dt_proj->append_parameters(out);
  } else {
    out.insert(out.end(), {dt_bias, B, C});
  }
  out.push_back(A_log);
  out.push_back(D);
  out_proj.append_parameters(out);
}

}  // namespace krait
