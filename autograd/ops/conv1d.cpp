// autograd/ops/conv1d.cpp — depthwise causal 1-D convolution (mamba_ssm's causal_conv1d), optionally
// followed by SiLU. Backward needs x only for the weight's gradient and the weight only for x's, so
// without the SiLU the CPU forward saves just those (the CUDA kernel reads both always; with the SiLU
// both devices recompute the pre-activation from x, weight and bias). One closure serves both devices
// through conv1d_backward_into(), which picks the kernel by the gradient's device.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/conv1d.h"
#include "kernels/cpu/elementwise.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/conv1d.h"
#endif

namespace krait::ops {
namespace {

using detail::data_or_null;

struct ConvShape {
  int64_t batch, channels, length, width;
  int64_t numel() const { return batch * channels * length; }
};

ConvShape shape_of(const Tensor& x, const Tensor& weight) { return {x.size(0), x.size(1), x.size(2), weight.size(1)}; }

// out (B, D, L) from x (B, D, L), weight (D, K) and the optional bias (D), silu'd when silu.
void conv1d_forward_into(const Tensor& x, const Tensor& weight, const Tensor& bias, bool silu, const Tensor& out) {
  const ConvShape s = shape_of(x, weight);
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    kernels::cuda::causal_conv1d_forward(x.raw_data(), x.dtype(), weight.data<float>(), detail::f32_or_null(bias),
                                         silu, out.raw_data(), s.batch, s.channels, s.length, s.width,
                                         detail::stream_of(x));
    return;
  }
#endif
  detail::dispatch_float("causal_conv1d", x, [&]<typename T>() {
    kernels::cpu::causal_conv1d_forward(x.data<T>(), weight.data<T>(), data_or_null<T>(bias), out.data<T>(), s.batch,
                                        s.channels, s.length, s.width);
    if (silu) kernels::cpu::silu_forward(out.data<T>(), out.data<T>(), s.numel());
  });
}

// The gradients from g (B, D, L) into grad_x, grad_weight and grad_bias, each skipped when undefined.
// Without silu, x and weight may be undefined on the CPU where the gradients asked for do not need them.
void conv1d_backward_into(const Tensor& x, const Tensor& weight, const Tensor& bias, bool silu, const Tensor& g,
                          const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias, int64_t width) {
  const ConvShape s{g.size(0), g.size(1), g.size(2), width};
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    const Tensor workspace = detail::workspace_like(
        g, kernels::cuda::causal_conv1d_backward_workspace_bytes(s.batch, s.channels, s.length, s.width));
    kernels::cuda::causal_conv1d_backward(x.raw_data(), x.dtype(), weight.data<float>(), detail::f32_or_null(bias),
                                          silu, g.raw_data(), detail::raw_or_null(grad_x),
                                          detail::f32_or_null(grad_weight), detail::f32_or_null(grad_bias),
                                          detail::raw_or_null(workspace), s.batch, s.channels, s.length, s.width,
                                          detail::stream_of(g));
    return;
  }
#endif
  detail::dispatch_float("causal_conv1d backward", g, [&]<typename T>() {
    const T* grad_pre = g.data<T>();
    Tensor pre_grad;  // with silu: the gradient of the pre-activation, from the recomputed pre-activation
    if (silu) {
      const Tensor pre = Tensor::empty(g.shape(), g.dtype(), g.device());
      kernels::cpu::causal_conv1d_forward(x.data<T>(), weight.data<T>(), data_or_null<T>(bias), pre.data<T>(),
                                          s.batch, s.channels, s.length, s.width);
      pre_grad = Tensor::empty(g.shape(), g.dtype(), g.device());
      kernels::cpu::silu_backward(pre.data<T>(), g.data<T>(), pre_grad.data<T>(), s.numel());
      grad_pre = pre_grad.data<T>();
    }
    kernels::cpu::causal_conv1d_backward(data_or_null<T>(x), data_or_null<T>(weight), grad_pre,
                                         data_or_null<T>(grad_x), data_or_null<T>(grad_weight),
                                         data_or_null<T>(grad_bias), s.batch, s.channels, s.length, s.width);
  });
}

}  // namespace

Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, bool silu) {
  detail::check_float_inputs("causal_conv1d", {&x}, {&weight, &bias});
  detail::check_dim("causal_conv1d", "x", x, 3);
  detail::check_dim("causal_conv1d", "weight", weight, 2);
  const int64_t channels = x.size(1), width = weight.size(1);
  KRAIT_CHECK(width >= 1, "causal_conv1d: weight ", weight.describe(), " has no taps");
  detail::check_shape("causal_conv1d", "weight", weight, {channels, width});
  if (bias.defined()) detail::check_shape("causal_conv1d", "bias", bias, {channels});
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  conv1d_forward_into(x, weight, bias, silu, out);
  if (needs_record({x, weight, bias})) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.requires_grad();
    const bool keep_all = silu || x.device().is_cuda();
    const Tensor sx = keep_all || need_w ? x.detach() : Tensor();
    const Tensor sw = keep_all || need_x ? weight.detach() : Tensor();
    const Tensor sb = silu && bias.defined() ? bias.detach() : Tensor();
    const Shape x_shape = x.shape(), w_shape = weight.shape();
    // The weight's and bias's gradients take the parameters' dtype: f32 master weights on CUDA.
    const DType x_dtype = x.dtype(), param_dtype = weight.dtype();
    record("causal_conv1d", {x, weight, bias}, out, [=](const Tensor& g) -> TensorList {
      Tensor gx = need_x ? Tensor::empty(x_shape, x_dtype, g.device()) : Tensor();
      Tensor gw = need_w ? Tensor::empty(w_shape, param_dtype, g.device()) : Tensor();
      Tensor gb = need_b ? Tensor::empty({channels}, param_dtype, g.device()) : Tensor();
      conv1d_backward_into(sx, sw, sb, silu, g, gx, gw, gb, width);
      return {gx, gw, gb};
    });
  }
  return out;
}

}  // namespace krait::ops
