// autograd/ops/conv1d.cpp — depthwise causal 1-D convolution (mamba_ssm's causal_conv1d). Backward
// needs x only for the weight's gradient and the weight only for x's, so forward saves just those.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/conv1d.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/conv1d.h"
#endif

namespace krait::ops {

Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::check_float_inputs("causal_conv1d", {&x}, {&weight, &bias});
  detail::check_dim("causal_conv1d", "x", x, 3);
  detail::check_dim("causal_conv1d", "weight", weight, 2);
  const int64_t batch = x.size(0), channels = x.size(1), length = x.size(2), width = weight.size(1);
  KRAIT_CHECK(width >= 1, "causal_conv1d: weight ", weight.describe(), " has no taps");
  detail::check_shape("causal_conv1d", "weight", weight, {channels, width});
  if (bias.defined()) detail::check_shape("causal_conv1d", "bias", bias, {channels});
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    namespace gpu = kernels::cuda;
    gpu::causal_conv1d_forward(x.raw_data(), x.dtype(), weight.data<float>(), detail::f32_or_null(bias), false,
                               out.raw_data(), batch, channels, length, width, detail::stream_of(x));
    if (needs_record({x, weight, bias})) {
      const Tensor sx = x.detach(), sw = weight.detach();
      const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.requires_grad();
      record("causal_conv1d", {x, weight, bias}, out, [=](const Tensor& g) -> TensorList {
        Tensor gx = need_x ? Tensor::empty(sx.shape(), sx.dtype(), sx.device()) : Tensor();
        Tensor gw = need_w ? Tensor::empty(sw.shape(), DType::F32, sx.device()) : Tensor();
        Tensor gb = need_b ? Tensor::empty({channels}, DType::F32, sx.device()) : Tensor();
        const Tensor workspace =
            detail::workspace_like(g, gpu::causal_conv1d_backward_workspace_bytes(batch, channels, length, width));
        gpu::causal_conv1d_backward(sx.raw_data(), sx.dtype(), sw.data<float>(), nullptr, false, g.raw_data(),
                                    detail::raw_or_null(gx), detail::f32_or_null(gw), detail::f32_or_null(gb),
                                    detail::raw_or_null(workspace), batch, channels, length, width,
                                    detail::stream_of(g));
        return {gx, gw, gb};
      });
    }
    return out;
  }
#endif
  detail::dispatch_float("causal_conv1d", x, [&]<typename T>() {
    kernels::cpu::causal_conv1d_forward(x.data<T>(), weight.data<T>(), bias.defined() ? bias.data<T>() : nullptr,
                                        out.data<T>(), batch, channels, length, width);
  });
  if (needs_record({x, weight, bias})) {
    const Tensor sx = weight.requires_grad() ? x.detach() : Tensor();
    const Tensor sw = x.requires_grad() ? weight.detach() : Tensor();
    const bool need_b = bias.requires_grad();
    const Shape x_shape = x.shape(), w_shape = weight.shape();
    record("causal_conv1d", {x, weight, bias}, out, [=](const Tensor& g) -> TensorList {
      Tensor gx, gw, gb;
      if (sw.defined()) gx = Tensor::empty(x_shape, g.dtype(), g.device());
      if (sx.defined()) gw = Tensor::empty(w_shape, g.dtype(), g.device());
      if (need_b) gb = Tensor::empty({channels}, g.dtype(), g.device());
      detail::dispatch_float("causal_conv1d backward", g, [&]<typename T>() {
        auto ptr = [](const Tensor& t) -> T* { return t.defined() ? t.data<T>() : nullptr; };
        kernels::cpu::causal_conv1d_backward(ptr(sx), ptr(sw), g.data<T>(), ptr(gx), ptr(gw), ptr(gb), batch,
                                             channels, length, width);
      });
      return {gx, gw, gb};
    });
  }
  return out;
}

}  // namespace krait::ops
