// autograd/ops/rms_norm.cpp — RMSNorm over the last axis, and the residual add fused with it. Forward
// saves x (for the fused form h, its own first output) and the per-row rstd, not y; backward rebuilds
// what it needs from them (derivation in kernels/cpu/rms_norm.cpp). rms_norm's one backward closure serves
// both devices through rms_norm_backward_into(), which picks the kernel by the gradient's device.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/rms_norm.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/rms_norm.h"
#endif

namespace krait::ops {
namespace {

using detail::data_or_null;

// y (rows, D) = x (rows, D) normalized, times weight (D); rstd (rows) = 1 / sqrt(mean(x^2) + eps).
void rms_norm_forward_into(const Tensor& x, const Tensor& weight, double eps, const Tensor& y, const Tensor& rstd,
                           int64_t rows, int64_t dim) {
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    kernels::cuda::rms_norm_forward(x.raw_data(), x.dtype(), nullptr, weight.data<float>(), float(eps), nullptr,
                                    y.raw_data(), y.dtype(), rstd.data<float>(), rows, dim, detail::stream_of(x));
    return;
  }
#endif
  detail::dispatch_float("rms_norm", x, [&]<typename T>() {
    kernels::cpu::rms_norm_forward(x.data<T>(), weight.data<T>(), T(eps), y.data<T>(), rstd.data<T>(), rows, dim);
  });
}

// grad_x and grad_weight, each skipped when undefined, from x, the forward's rstd and g. The weight may be
// undefined on the CPU when grad_x is.
void rms_norm_backward_into(const Tensor& x, const Tensor& weight, const Tensor& rstd, const Tensor& g,
                            const Tensor& grad_x, const Tensor& grad_weight, int64_t rows, int64_t dim) {
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    const size_t workspace_bytes = kernels::cuda::rms_norm_backward_workspace_bytes(rows, dim);
    const Tensor workspace = grad_weight.defined() ? detail::workspace_like(g, workspace_bytes) : Tensor();
    kernels::cuda::rms_norm_backward(x.raw_data(), x.dtype(), weight.data<float>(), rstd.data<float>(), g.raw_data(),
                                     g.dtype(), nullptr, detail::raw_or_null(grad_x), x.dtype(), nullptr,
                                     detail::f32_or_null(grad_weight), detail::raw_or_null(workspace), rows, dim,
                                     detail::stream_of(g));
    return;
  }
#endif
  detail::dispatch_float("rms_norm backward", g, [&]<typename T>() {
    kernels::cpu::rms_norm_backward(x.data<T>(), data_or_null<T>(weight), rstd.data<T>(), g.data<T>(),
                                    data_or_null<T>(grad_x), data_or_null<T>(grad_weight), rows, dim);
  });
}

}  // namespace

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  detail::check_float_inputs("rms_norm", {&x}, {&weight});
  KRAIT_CHECK(x.dim() >= 1 && x.size(-1) > 0, "rms_norm: x must have a non-empty last axis, got ", x.describe());
  const int64_t dim = x.size(-1), rows = x.numel() / dim;
  detail::check_shape("rms_norm", "weight", weight, {dim});
  KRAIT_CHECK(eps >= 0, "rms_norm: eps must be >= 0, got ", eps);
  const bool on_cuda = x.device().is_cuda();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor rstd = Tensor::empty({rows}, on_cuda ? DType::F32 : x.dtype(), x.device());  // CUDA statistics are f32
  rms_norm_forward_into(x, weight, eps, y, rstd, rows, dim);
  if (needs_record({x, weight})) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
    const Tensor sx = x.detach();
    // The CUDA kernel reads the weight always; the CPU one only for grad_x.
    const Tensor sw = on_cuda || need_x ? weight.detach() : Tensor();
    // The weight's gradient takes its dtype: f32 master weights on CUDA.
    const DType w_dtype = weight.dtype();
    record("rms_norm", {x, weight}, y, [=](const Tensor& g) -> TensorList {
      Tensor gx = need_x ? Tensor::empty(sx.shape(), sx.dtype(), g.device()) : Tensor();
      Tensor gw = need_w ? Tensor::empty({dim}, w_dtype, g.device()) : Tensor();
      rms_norm_backward_into(sx, sw, rstd, g, gx, gw, rows, dim);
      return {gx, gw};
    });
  }
  return y;
}

TensorList add_rms_norm(const Tensor& x, const Tensor& residual, const Tensor& weight, double eps, DType y_dtype) {
  KRAIT_CHECK(x.defined() && residual.defined() && x.shape() == residual.shape() && x.device() == residual.device(),
              "add_rms_norm: x ", x.describe(), " and residual ", residual.describe(), " must match in shape and device");
  KRAIT_CHECK(is_floating(x.dtype()) && is_floating(y_dtype), "add_rms_norm: x ", x.describe(), " and y (",
              dtype_name(y_dtype), ") must be floating point");
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    detail::check_float_inputs("add_rms_norm", {&residual}, {&weight});
    KRAIT_CHECK(residual.dtype() == DType::F32 && x.dtype() != DType::F64 && y_dtype != DType::F64,
                "add_rms_norm: on CUDA the residual is f32 and x, y f32 or bf16; got x ", x.describe(),
                ", residual ", residual.describe(), ", y ", dtype_name(y_dtype));
    KRAIT_CHECK(x.dim() >= 1 && x.size(-1) > 0, "add_rms_norm: x must have a non-empty last axis, got ", x.describe());
    const int64_t dim = x.size(-1), rows = x.numel() / dim;
    detail::check_shape("add_rms_norm", "weight", weight, {dim});
    KRAIT_CHECK(eps >= 0, "add_rms_norm: eps must be >= 0, got ", eps);
    TensorList out{Tensor::empty(x.shape(), DType::F32, x.device()), Tensor::empty(x.shape(), y_dtype, x.device())};
    Tensor rstd = Tensor::empty({rows}, DType::F32, x.device());
    kernels::cuda::rms_norm_forward(x.raw_data(), x.dtype(), residual.data<float>(), weight.data<float>(), float(eps),
                                    out[0].data<float>(), out[1].raw_data(), y_dtype, rstd.data<float>(), rows, dim,
                                    detail::stream_of(x));
    if (needs_record({x, residual, weight})) {
      const Tensor h = out[0].detach(), sw = weight.detach();
      const DType x_dtype = x.dtype();
      const bool need_x = x.requires_grad(), need_r = residual.requires_grad(), need_w = weight.requires_grad();
      record("add_rms_norm", {x, residual, weight}, out, [=](const TensorList& g) -> TensorList {
        // g[0] reaches h from its later uses (the next residual add), g[1] comes through y; dL/dh is the
        // RMSNorm gradient plus g[0], and it is dL/dx and dL/dresidual alike.
        Tensor gx = need_x ? Tensor::empty(h.shape(), x_dtype, h.device()) : Tensor();
        Tensor gr = need_r ? Tensor::empty(h.shape(), DType::F32, h.device()) : Tensor();
        Tensor gw = need_w ? Tensor::empty({dim}, DType::F32, h.device()) : Tensor();
        const Tensor workspace =
            need_w ? detail::workspace_like(h, kernels::cuda::rms_norm_backward_workspace_bytes(rows, dim)) : Tensor();
        kernels::cuda::rms_norm_backward(h.raw_data(), DType::F32, sw.data<float>(), rstd.data<float>(),
                                         g[1].raw_data(), g[1].dtype(), g[0].data<float>(), detail::raw_or_null(gx),
                                         x_dtype, detail::f32_or_null(gr), detail::f32_or_null(gw),
                                         detail::raw_or_null(workspace), rows, dim, detail::stream_of(h));
        return {gx, gr, gw};
      });
    }
    return out;
  }
#endif
  const Tensor h = add(residual, cast(x, residual.dtype()));
  return {h, cast(rms_norm(h, weight, eps), y_dtype)};
}

}  // namespace krait::ops
