// layers/mamba_mixer.cpp — MambaMixer (see mamba_mixer.h). Initialization follows the reference's
// Mamba.__init__ and MambaLMHeadModel._init_weights; the ablations' parameters are drawn in the
// places of the ones they replace, so the default and the time-invariant model draw as before.
#include "layers/mamba_mixer.h"

#include <cmath>
#include <functional>

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

// Element i of A_log (d_inner, d_state), state i % d_state, for A = -exp(A_log) (paper, Table 8).
std::function<double(int64_t)> a_log_value(const MambaConfig& c, Rng& rng) {
  switch (c.a_init) {
    case AInit::S4DReal: return [N = c.d_state](int64_t i) { return std::log(double(i % N + 1)); };
    case AInit::S4DLinReal: return [](int64_t) { return std::log(0.5); };
    case AInit::Random: return [&rng](int64_t) { return rng.normal(); };
  }
  throw Error("MambaMixer: unknown a_init");
}

// x_proj's output rows: dt (dt_rank), then B and C (d_state each), for those that depend on the input.
std::vector<int64_t> x_proj_rows(const MambaConfig& c) {
  std::vector<int64_t> rows;
  if (c.selective.delta) rows.push_back(c.resolved_dt_rank());
  if (c.selective.B) rows.push_back(c.d_state);
  if (c.selective.C) rows.push_back(c.d_state);
  return rows;
}

// x split along axis into parts of the given sizes; x itself when there is one (split would copy it).
std::vector<Tensor> parts_of(const Tensor& x, int64_t axis, const std::vector<int64_t>& sizes) {
  return sizes.size() == 1 ? std::vector<Tensor>{x} : ops::split(x, axis, sizes);
}

}  // namespace

MambaMixer::MambaMixer(const std::string& name, const MambaConfig& c, const TensorOptions& options, Rng& rng)
    : config(c),
      in_proj(name + ".in_proj", c.d_model, (c.gate ? 2 : 1) * c.d_inner(), c.bias, options, rng),
      out_proj(name + ".out_proj", c.d_inner(), c.d_model, c.bias, options, rng) {
  const int64_t E = c.d_inner(), N = c.d_state, R = c.resolved_dt_rank(), K = c.d_conv;
  const Selectivity& s = c.selective;
  if (c.conv) {
    // PyTorch's Conv1d default: fan_in = in_channels / groups * kernel = K.
    conv_weight = init::uniform(name + ".conv1d.weight", {E, K}, options, rng, init::default_bound(K));
    if (c.conv_bias)
      conv_bias = init::uniform(name + ".conv1d.bias", {E}, options, rng, init::default_bound(K), {.no_weight_decay = true});
  }
  const std::vector<int64_t> rows = x_proj_rows(c);
  if (!rows.empty()) {
    int64_t total = 0;
    for (const int64_t r : rows) total += r;
    x_proj.emplace(name + ".x_proj", E, total, false, options, rng);
  }
  if (s.delta) {
    dt_proj.emplace(name + ".dt_proj", R, E, false, options, rng);
    const double bound = std::pow(static_cast<double>(R), -0.5) * c.dt_scale;
    dt_proj->weight = init::uniform(name + ".dt_proj.weight", {E, R}, options, rng, bound);
    dt_proj->bias = dt_bias_param(name + ".dt_proj.bias", c, options, rng);
  } else {
    dt_bias = dt_bias_param(name + ".dt_bias", c, options, rng);
  }
  if (!s.B) B = init::constant(name + ".B", {E, N}, options, 1.0);
  if (!s.C) C = init::normal(name + ".C", {E, N}, options, rng, 1.0);
  // A_log and D stay fp32, without weight decay; D = 1.
  const ParamTags fp32_no_decay{.no_weight_decay = true, .fp32_only = true};
  A_log = init::make(name + ".A_log", {E, N}, options, a_log_value(c, rng), fp32_no_decay);
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
std::vector<Tensor> MambaMixer::project_in(const Tensor& hidden) const {
  const std::vector<int64_t> rows(config.gate ? 2 : 1, config.d_inner());
  std::vector<Tensor> out;
  if (in_proj.bias.value.defined()) {
    for (const Tensor& t : parts_of(in_proj.forward(hidden), -1, rows)) out.push_back(ops::transpose(t, 1, 2));
  } else {
    out = ops::matmul_weight_rows(in_proj.weight.value, rows, hidden, true, false, true);
  }
  return out;
}

Tensor MambaMixer::forward(const Tensor& hidden) const { return run(hidden, nullptr); }

Tensor MambaMixer::forward(const Tensor& hidden, MambaLayerState& state) const { return run(hidden, &state); }

// With a state, the conv runs over the state's d_conv - 1 inputs followed by x, whose last d_conv - 1
// become the new state (copied into its buffer, which a generator's captured step reads); the outputs
// at x's times are the same as a conv over the whole sequence.
Tensor MambaMixer::conv_silu(const Tensor& x, MambaLayerState* state) const {
  if (!config.conv) return ops::silu(x);
  if (!state) return ops::causal_conv1d(x, conv_weight.value, conv_bias.value, true);
  const int64_t len = x.size(2), kept = config.d_conv - 1;
  if (state->at_start && len >= kept) {  // a zero state: the plain conv, without copying x into a window
    state->conv.copy_from(ops::slice(x, 2, len - kept, len));
    return ops::causal_conv1d(x, conv_weight.value, conv_bias.value, true);
  }
  const Tensor window = ops::concat({state->conv, x}, 2);
  state->conv.copy_from(ops::slice(window, 2, len, len + kept));
  return ops::slice(ops::causal_conv1d(window, conv_weight.value, conv_bias.value, true), 2, kept, kept + len);
}

ops::ScanInputs MambaMixer::scan_inputs(const Tensor& x_in, const Tensor& z, MambaLayerState* state) const {
  const Selectivity& s = config.selective;
  const Tensor x = conv_silu(x_in, state);
  const auto project = [](const Linear& l, const Tensor& in) { return ops::matmul_weight(l.weight.value, in, true, false, false); };
  ops::ScanInputs scan;
  scan.u = x;
  scan.z = z;
  scan.A = ops::scale(ops::exp(A_log.value), -1.0);
  scan.D_skip = D.value;
  scan.delta_softplus = true;
  // The input-dependent parts come from x_proj in the order of its rows; the others are per channel
  // (a time-invariant B or C is (d_inner, d_state), as the scan takes it).
  std::vector<Tensor> dbc;
  if (x_proj) dbc = parts_of(project(*x_proj, x), 1, x_proj_rows(config));
  auto next = dbc.begin();
  if (s.delta) {
    scan.delta = project(*dt_proj, *next++);
    scan.delta_bias = dt_proj->bias.value;
  } else {
    scan.delta = Tensor::zeros(x.shape(), x.dtype(), x.device());
    scan.delta_bias = dt_bias.value;
  }
  scan.B = s.B ? *next++ : ops::cast(B.value, x.dtype());
  scan.C = s.C ? *next++ : ops::cast(C.value, x.dtype());
  return scan;
}

ParameterList MambaMixer::scan_input_parameters() const {
  ParameterList out;
  for (const Parameter* p : {&conv_weight, &conv_bias, &dt_bias, &B, &C, &A_log, &D})
    if (p->value.defined()) out.push_back(*p);
  if (x_proj) x_proj->append_parameters(out);
  if (dt_proj) dt_proj->append_parameters(out);
  return out;
}

Tensor MambaMixer::run(const Tensor& hidden, MambaLayerState* state) const {
  KRAIT_CHECK(hidden.dim() == 3 && hidden.size(2) == config.d_model, "MambaMixer: expected hidden (B, L, ",
              config.d_model, "), got ", hidden.describe());
  const DType dtype = hidden.dtype();
  const std::vector<Tensor> xz = project_in(hidden);
  const Tensor z = config.gate ? xz[1] : Tensor();
  Tensor scanned;
  if (state) {
    scanned = ops::selective_scan_stateful(scan_inputs(xz[0], z, state), state->ssm);
    state->at_start = false;
  } else {
    // The fused node keeps x and z; the conv output, delta, B and C are made again in its backward.
    scanned = ops::selective_scan_recomputing(
        [this](const TensorList& in) { return scan_inputs(in[0], in[1], nullptr); }, {xz[0], z},
        scan_input_parameters());
  }
  const Tensor y = ops::matmul_weight(out_proj.weight.value, scanned, false, true, true);
  return out_proj.bias.value.defined() ? ops::add(y, ops::cast(out_proj.bias.value, dtype)) : y;
}

MambaMixer::StepWeights MambaMixer::step_weights(DType dtype) const {
  NoGradGuard no_grad;
  const DType state_dtype = ops::scan_state_dtype(dtype);
  const auto cast = [](const Parameter& p, DType to) { return p.value.defined() ? ops::cast(p.value, to) : Tensor(); };
  StepWeights w;
  w.in_proj = cast(in_proj.weight, dtype), w.in_bias = cast(in_proj.bias, dtype);
  w.out_proj = cast(out_proj.weight, dtype), w.out_bias = cast(out_proj.bias, dtype);
  w.conv_weight = cast(conv_weight, state_dtype), w.conv_bias = cast(conv_bias, state_dtype);
  w.A = ops::cast(ops::scale(ops::exp(A_log.value), -1.0), state_dtype);
  w.D = cast(D, state_dtype);
  w.delta_bias = cast(dt_proj ? dt_proj->bias : dt_bias, state_dtype);
  w.B = cast(B, dtype), w.C = cast(C, dtype);
  if (x_proj) w.x_proj = cast(x_proj->weight, dtype);
  if (dt_proj) w.dt_proj = cast(dt_proj->weight, dtype);
  return w;
}

Tensor MambaMixer::step(const Tensor& hidden, MambaLayerState& state, const StepWeights& w) const {
  KRAIT_CHECK(hidden.dim() == 2 && hidden.size(1) == config.d_model, "MambaMixer::step: expected hidden (B, ",
              config.d_model, "), got ", hidden.describe());
  NoGradGuard no_grad;
  const int64_t E = config.d_inner(), N = config.d_state;
  const Selectivity& s = config.selective;
  Tensor xz = ops::matmul(hidden, w.in_proj, false, true);  // (B, E): x, then z when gated
  if (w.in_bias.defined()) xz = ops::add(xz, w.in_bias);
  ops::ScanStepInputs in;
  if (config.conv) in.u = {ops::causal_conv1d_step({xz, 0}, state.conv, w.conv_weight, w.conv_bias, true)};
  else in.u = {ops::silu(config.gate ? ops::slice(xz, 1, 0, E) : xz)};
  if (config.gate) in.z = {xz, E};
  const Tensor dbc = w.x_proj.defined() ? ops::matmul(in.u.t, w.x_proj, false, true) : Tensor();
  int64_t column = 0;  // dbc's columns: dt (dt_rank), B, C, those that depend on the input
  if (s.delta) {  // dt_proj runs inside the scan step, on x_proj's first dt_rank outputs
    in.delta = {dbc, 0};
    in.delta_proj = w.dt_proj;
    column += config.resolved_dt_rank();
  }
  in.B_variable = s.B, in.C_variable = s.C;
  in.B = s.B ? ops::Columns{dbc, column} : ops::Columns{w.B};
  if (s.B) column += N;
  in.C = s.C ? ops::Columns{dbc, column} : ops::Columns{w.C};
  in.A = w.A, in.D_skip = w.D, in.delta_bias = w.delta_bias, in.delta_softplus = true;
  const Tensor y = ops::matmul(ops::selective_scan_step(in, state.ssm), w.out_proj, false, true);
  state.at_start = false;
  return w.out_bias.defined() ? ops::add(y, w.out_bias) : y;
}

void MambaMixer::append_parameters(ParameterList& out) const {
  in_proj.append_parameters(out);
  for (const Parameter* p : {&conv_weight, &conv_bias})
    if (p->value.defined()) out.push_back(*p);
  if (x_proj) x_proj->append_parameters(out);
  if (dt_proj) dt_proj->append_parameters(out);
  for (const Parameter* p : {&dt_bias, &B, &C})
    if (p->value.defined()) out.push_back(*p);
  out.push_back(A_log);
  out.push_back(D);
  out_proj.append_parameters(out);
}

}  // namespace krait
