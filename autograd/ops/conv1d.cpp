// autograd/ops/conv1d.cpp — depthwise causal 1-D convolution (mamba_ssm's causal_conv1d). Backward
// needs x only for the weight's gradient and the weight only for x's, so on the CPU forward saves just
// those (the CUDA kernel reads both always). One closure serves both devices through
// conv1d_backward_into(), which picks the kernel by the gradient's device.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/conv1d.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/conv1d.h"
#endif

namespace krait::ops {
namespace {

using detail::data_or_null;

// out (B, D, L) from x (B, D, L), weight (D, K) and the optional bias (D).
void conv1d_forward_into(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out) {
  const int64_t batch = x.size(0), channels = x.size(1), length = x.size(2), width = weight.size(1);
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    kernels::cuda::causal_conv1d_forward(x.raw_data(), x.dtype(), weight.data<float>(), detail::f32_or_null(bias),
                                         false, out.raw_data(), batch, channels, length, width, detail::stream_of(x));
    return;
  }
#endif
  detail::dispatch_float("causal_conv1d", x, [&]<typename T>() {
    kernels::cpu::causal_conv1d_forward(x.data<T>(), weight.data<T>(), data_or_null<T>(bias), out.data<T>(), batch,
                                        channels, length, width);
  });
}

// The gradients from g (B, D, L) into grad_x, grad_weight and grad_bias, each skipped when undefined.
// x and weight may be undefined on the CPU where the gradients asked for do not need them.
void conv1d_backward_into(const Tensor& x, const Tensor& weight, const Tensor& g, const Tensor& grad_x,
                          const Tensor& grad_weight, const Tensor& grad_bias, int64_t width) {
  const int64_t batch = g.size(0), channels = g.size(1), length = g.size(2);
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    const Tensor workspace = detail::workspace_like(
        g, kernels::cuda::causal_conv1d_backward_workspace_bytes(batch, channels, length, width));
    kernels::cuda::causal_conv1d_backward(x.raw_data(), x.dtype(), weight.data<float>(), nullptr, false, g.raw_data(),
                                          detail::raw_or_null(grad_x), detail::f32_or_null(grad_weight),
                                          detail::f32_or_null(grad_bias), detail::raw_or_null(workspace), batch,
                                          channels, length, width, detail::stream_of(g));
    return;
  }
#endif
  detail::dispatch_float("causal_conv1d backward", g, [&]<typename T>() {
    kernels::cpu::causal_conv1d_backward(data_or_null<T>(x), data_or_null<T>(weight), g.data<T>(),
                                         data_or_null<T>(grad_x), data_or_null<T>(grad_weight),
                                         data_or_null<T>(grad_bias), batch, channels, length, width);
  });
}

}  // namespace

Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::check_float_inputs("causal_conv1d", {&x}, {&weight, &bias});
  detail::check_dim("causal_conv1d", "x", x, 3);
  detail::check_dim("causal_conv1d", "weight", weight, 2);
  const int64_t channels = x.size(1), width = weight.size(1);
  KRAIT_CHECK(width >= 1, "causal_conv1d: weight ", weight.describe(), " has no taps");
  detail::check_shape("causal_conv1d", "weight", weight, {channels, width});
  if (bias.defined()) detail::check_shape("causal_conv1d", "bias", bias, {channels});
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  conv1d_forward_into(x, weight, bias, out);
  if (needs_record({x, weight, bias})) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.requires_grad();
    const bool on_cuda = x.device().is_cuda();
    const Tensor sx = on_cuda || need_w ? x.detach() : Tensor();
    const Tensor sw = on_cuda || need_x ? weight.detach() : Tensor();
    const Shape x_shape = x.shape(), w_shape = weight.shape();
    // The weight's and bias's gradients take the parameters' dtype: f32 master weights on CUDA.
    const DType x_dtype = x.dtype(), param_dtype = weight.dtype();
    record("causal_conv1d", {x, weight, bias}, out, [=](const Tensor& g) -> TensorList {
      Tensor gx = need_x ? Tensor::empty(x_shape, x_dtype, g.device()) : Tensor();
      Tensor gw = need_w ? Tensor::empty(w_shape, param_dtype, g.device()) : Tensor();
      Tensor gb = need_b ? Tensor::empty({channels}, param_dtype, g.device()) : Tensor();
      conv1d_backward_into(sx, sw, g, gx, gw, gb, width);
      return {gx, gw, gb};
    });
  }
  return out;
}

}  // namespace krait::ops
