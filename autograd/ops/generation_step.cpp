// autograd/ops/generation_step.cpp — the one-token ops of recurrent generation: causal_conv1d_step,
// selective_scan_step and argmax_rows (see ops.h). Each checks its inputs, then hands raw pointers and row strides to
// the CPU reference or the CUDA kernel; neither records on the tape (both update a state in place).
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/argmax.h"
#include "kernels/cpu/conv1d.h"
#include "kernels/cpu/selective_scan_step.h"
#if KRAIT_HAS_CUDA
#include <cuda_bf16.h>

#include "kernels/cuda/argmax.h"
#include "kernels/cuda/conv1d.h"
#include "kernels/cuda/selective_scan_step.h"
#endif

namespace krait::ops {
namespace {

using detail::data_or_null;

// columns: a (batch, *) tensor with `width` columns from its offset on; name for errors.
void check_columns(const char* op, const char* name, const Columns& c, int64_t batch, int64_t width) {
  KRAIT_CHECK(c.t.dim() == 2 && c.t.size(0) == batch && c.offset >= 0 && c.offset + width <= c.t.size(1), op, ": ",
              name, " must hold ", width, " columns from column ", c.offset, " of a (", batch, ", *) tensor, got ",
              c.t.describe());
}

void check_not_recorded(const char* op, std::initializer_list<Tensor> inputs) {
  KRAIT_CHECK(!needs_record(TensorList(inputs)), op, ": is not differentiable; run it under NoGradGuard");
}

// The first of the columns in row 0 (null when undefined), and the row stride.
const void* first_column(const Columns& c) {
  return c.t.defined() ? static_cast<const char*>(c.t.raw_data()) + c.offset * dtype_size(c.t.dtype()) : nullptr;
}
template <typename T> const T* first_of(const Columns& c) { return static_cast<const T*>(first_column(c)); }
int64_t stride_of(const Columns& c) { return c.t.defined() ? c.t.size(1) : 0; }

template <typename T, typename S> kernels::ScanStepProblem<T, S> step_problem(const ScanStepInputs& in, const Tensor& state,
                                                                             const Tensor& out) {
  kernels::ScanStepProblem<T, S> p;
  p.batch = out.size(0), p.dim = out.size(1), p.state = in.A.size(1);
  p.u = first_of<T>(in.u), p.u_stride = stride_of(in.u);
  p.delta = first_of<T>(in.delta), p.delta_stride = stride_of(in.delta);
  if (in.delta_proj.defined()) {
    p.delta_proj = static_cast<const T*>(in.delta_proj.raw_data());
    p.delta_rank = in.delta_proj.size(1);
  }
  p.z = first_of<T>(in.z), p.z_stride = stride_of(in.z);
  p.B = first_of<T>(in.B), p.B_stride = in.B_variable ? stride_of(in.B) : 0, p.B_variable = in.B_variable;
  p.C = first_of<T>(in.C), p.C_stride = in.C_variable ? stride_of(in.C) : 0, p.C_variable = in.C_variable;
  p.A = in.A.data<S>(), p.D_skip = data_or_null<S>(in.D_skip), p.delta_bias = data_or_null<S>(in.delta_bias);
  p.delta_softplus = in.delta_softplus;
  p.state_inout = state.data<S>();
  p.out = static_cast<T*>(out.raw_data());
  return p;
}

}  // namespace

Tensor causal_conv1d_step(const Columns& x, const Tensor& window, const Tensor& weight, const Tensor& bias, bool silu) {
  constexpr const char* kOp = "causal_conv1d_step";
  detail::check_float_inputs(kOp, {&x.t, &window}, {&weight, &bias});
  check_not_recorded(kOp, {x.t, window, weight, bias});
  detail::check_dim(kOp, "weight", weight, 2);
  const int64_t channels = weight.size(0), width = weight.size(1);
  detail::check_dim(kOp, "window", window, 3);
  const int64_t batch = window.size(0);
  detail::check_shape(kOp, "window", window, {batch, channels, width - 1});
  check_columns(kOp, "x", x, batch, channels);
  if (bias.defined()) detail::check_shape(kOp, "bias", bias, {channels});
  Tensor out = Tensor::empty({batch, channels}, window.dtype(), window.device());
#if KRAIT_HAS_CUDA
  if (window.device().is_cuda()) {
    kernels::cuda::causal_conv1d_step(first_column(x), stride_of(x), window.raw_data(), window.dtype(), weight.data<float>(),
                                      detail::f32_or_null(bias), silu, out.raw_data(), batch, channels, width,
                                      detail::stream_of(window));
    return out;
  }
#endif
  detail::dispatch_float(kOp, window, [&]<typename T>() {
    kernels::cpu::causal_conv1d_step(first_of<T>(x), stride_of(x), window.data<T>(), weight.data<T>(),
                                     data_or_null<T>(bias), silu, out.data<T>(), batch, channels, width);
  });
  return out;
}

Tensor selective_scan_step(const ScanStepInputs& in, const Tensor& state) {
  constexpr const char* kOp = "selective_scan_step";
  KRAIT_CHECK(in.u.t.defined() && in.A.defined() && in.B.t.defined() && in.C.t.defined(), kOp,
              ": u, A, B and C are required");
  detail::check_float_inputs(kOp, {&in.u.t, &in.delta.t, &in.z.t, &in.B.t, &in.C.t, &in.delta_proj},
                             {&in.A, &in.D_skip, &in.delta_bias, &state});
  check_not_recorded(kOp, {in.u.t, in.delta.t, in.z.t, in.B.t, in.C.t, in.A, in.D_skip, in.delta_bias, in.delta_proj});
  detail::check_dim(kOp, "A", in.A, 2);
  detail::check_dim(kOp, "state", state, 3);
  const int64_t batch = state.size(0), dim = in.A.size(0), N = in.A.size(1);
  detail::check_shape(kOp, "state", state, {batch, dim, N});
  check_columns(kOp, "u", in.u, batch, dim);
  if (in.delta_proj.defined()) {
    detail::check_dim(kOp, "delta_proj", in.delta_proj, 2);
    KRAIT_CHECK(in.delta_proj.size(0) == dim && in.delta.t.defined(), kOp, ": delta_proj must be (", dim,
                ", R) and come with delta, got ", in.delta_proj.describe());
    check_columns(kOp, "delta", in.delta, batch, in.delta_proj.size(1));
  } else if (in.delta.t.defined()) {
    check_columns(kOp, "delta", in.delta, batch, dim);
  }
  if (in.z.t.defined()) check_columns(kOp, "z", in.z, batch, dim);
  const auto check_bc = [&](const char* name, const Columns& c, bool variable) {
    if (variable) return check_columns(kOp, name, c, batch, N);
    KRAIT_CHECK(c.offset == 0, kOp, ": a per-channel ", name, " takes no column offset");
    detail::check_shape(kOp, name, c.t, {dim, N});
  };
  check_bc("B", in.B, in.B_variable);
  check_bc("C", in.C, in.C_variable);
  if (in.D_skip.defined()) detail::check_shape(kOp, "D_skip", in.D_skip, {dim});
  if (in.delta_bias.defined()) detail::check_shape(kOp, "delta_bias", in.delta_bias, {dim});
  Tensor out = Tensor::empty({batch, dim}, in.u.t.dtype(), state.device());
#if KRAIT_HAS_CUDA
  if (state.device().is_cuda()) {
    if (in.u.t.dtype() == DType::BF16)
      kernels::cuda::selective_scan_step(step_problem<__nv_bfloat16, float>(in, state, out), detail::stream_of(state));
    else
      kernels::cuda::selective_scan_step(step_problem<float, float>(in, state, out), detail::stream_of(state));
    return out;
  }
#endif
  detail::dispatch_float(kOp, out, [&]<typename T>() { kernels::cpu::selective_scan_step(step_problem<T, T>(in, state, out)); });
  return out;
}

Tensor argmax_rows(const Tensor& x, int64_t width) {
  constexpr const char* kOp = "argmax_rows";
  detail::check_float_inputs(kOp, {&x});
  detail::check_dim(kOp, "x", x, 2);
  KRAIT_CHECK(width >= 1 && width <= x.size(1), kOp, ": width ", width, " not in 1..", x.size(1), " for ",
              x.describe());
  Tensor out = Tensor::empty({x.size(0)}, DType::I32, x.device());
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    kernels::cuda::argmax_rows(x.raw_data(), x.dtype(), out.data<int32_t>(), x.size(0), x.size(1), width,
                               detail::stream_of(x));
    return out;
  }
#endif
  detail::dispatch_float(kOp, x, [&]<typename T>() {
    kernels::cpu::argmax_rows(x.data<T>(), out.data<int32_t>(), x.size(0), x.size(1), width);
  });
  return out;
}

}  // namespace krait::ops
