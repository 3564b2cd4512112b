// autograd/ops/rms_norm.cpp — RMSNorm over the last axis. Forward saves x and the per-row rstd (not
// y); backward rebuilds what it needs from them (derivation in kernels/cpu/rms_norm.cpp).
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/rms_norm.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/rms_norm.h"
#endif

namespace krait::ops {

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  detail::check_float_inputs("rms_norm", {&x}, {&weight});
  KRAIT_CHECK(x.dim() >= 1 && x.size(-1) > 0, "rms_norm: x must have a non-empty last axis, got ", x.describe());
  const int64_t dim = x.size(-1), rows = x.numel() / dim;
  detail::check_shape("rms_norm", "weight", weight, {dim});
  KRAIT_CHECK(eps >= 0, "rms_norm: eps must be >= 0, got ", eps);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    Tensor rstd = Tensor::empty({rows}, DType::F32, x.device());
    kernels::cuda::rms_norm_forward(x.raw_data(), x.dtype(), nullptr, weight.data<float>(), float(eps), nullptr,
                                    y.raw_data(), y.dtype(), rstd.data<float>(), rows, dim, detail::stream_of(x));
    if (needs_record({x, weight})) {
      const Tensor sx = x.detach(), sw = weight.detach();
      const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
      record("rms_norm", {x, weight}, y, [=](const Tensor& g) -> TensorList {
        Tensor gx = need_x ? Tensor::empty(sx.shape(), sx.dtype(), sx.device()) : Tensor();
        Tensor gw = need_w ? Tensor::empty({dim}, DType::F32, sx.device()) : Tensor();
        const Tensor workspace =
            need_w ? detail::workspace_like(g, kernels::cuda::rms_norm_backward_workspace_bytes(rows, dim)) : Tensor();
        kernels::cuda::rms_norm_backward(sx.raw_data(), sx.dtype(), sw.data<float>(), rstd.data<float>(), g.raw_data(),
                                         g.dtype(), nullptr, detail::raw_or_null(gx), sx.dtype(), nullptr,
                                         detail::f32_or_null(gw), detail::raw_or_null(workspace), rows, dim,
                                         detail::stream_of(g));
        return {gx, gw};
      });
    }
    return y;
  }
#endif
  Tensor rstd = Tensor::empty({rows}, x.dtype(), x.device());
  detail::dispatch_float("rms_norm", x, [&]<typename T>() {
    kernels::cpu::rms_norm_forward(x.data<T>(), weight.data<T>(), T(eps), y.data<T>(), rstd.data<T>(), rows, dim);
  });
  if (needs_record({x, weight})) {
    const Tensor sx = x.detach();
    const Tensor sw = x.requires_grad() ? weight.detach() : Tensor();  // only grad_x needs the weight
    const bool need_w = weight.requires_grad();
    record("rms_norm", {x, weight}, y, [sx, sw, rstd, need_w, rows, dim](const Tensor& g) -> TensorList {
      Tensor gx, gw;
      if (sw.defined()) gx = Tensor::empty(sx.shape(), g.dtype(), g.device());
      if (need_w) gw = Tensor::empty({dim}, g.dtype(), g.device());
      detail::dispatch_float("rms_norm backward", g, [&]<typename T>() {
        auto ptr = [](const Tensor& t) -> T* { return t.defined() ? t.data<T>() : nullptr; };
        kernels::cpu::rms_norm_backward(sx.data<T>(), ptr(sw), rstd.data<T>(), g.data<T>(), ptr(gx), ptr(gw), rows,
                                        dim);
      });
      return {gx, gw};
    });
  }
  return y;
}

}  // namespace krait::ops
