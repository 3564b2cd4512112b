// autograd/ops/reduce.cpp — sum and mean, over everything or along one axis, on the CPU (f32, f64) and
// on CUDA (f32, bf16; f32 accumulation, deterministic). x is viewed as (outer, dim, inner) and reduced
// over the middle axis; the backward broadcasts the output gradient back along it. One backward closure
// serves both devices: it calls expand(), which picks the kernel by the gradient's device.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/reduce.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/reduce.h"
#endif

namespace krait::ops {
namespace {

// On CUDA the kernels take f32 and bf16; on the CPU dispatch_float takes f32 and f64.
void check_device_dtype(const char* op, const Tensor& x) {
  KRAIT_CHECK(!x.device().is_cuda() || x.dtype() == DType::F32 || x.dtype() == DType::BF16, op,
              ": on CUDA x must be f32 or bf16, got ", x.describe());
}

// y (outer, inner) = scale * x (outer, dim, inner) summed over dim.
void sum_into(const char* op, const Tensor& x, const Tensor& y, int64_t outer, int64_t dim, int64_t inner,
              double scale) {
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    const Tensor workspace =
        detail::workspace_like(x, kernels::cuda::sum_axis_workspace_bytes(outer, dim, inner));
    kernels::cuda::sum_axis(x.raw_data(), y.raw_data(), x.dtype(), outer, dim, inner, float(scale),
                            detail::raw_or_null(workspace), detail::stream_of(x));
    return;
  }
#endif
  detail::dispatch_float(op, x, [&]<typename T>() {
    kernels::cpu::sum_axis(x.data<T>(), y.data<T>(), outer, dim, inner, T(scale));
  });
}

// grad_x (outer, dim, inner) = scale * grad_y (outer, inner) repeated along dim.
void expand(const char* op, const Tensor& grad_y, const Tensor& grad_x, int64_t outer, int64_t dim, int64_t inner,
            double scale) {
#if KRAIT_HAS_CUDA
  if (grad_y.device().is_cuda()) {
    kernels::cuda::expand_axis(grad_y.raw_data(), grad_x.raw_data(), grad_y.dtype(), outer, dim, inner, float(scale),
                               detail::stream_of(grad_y));
    return;
  }
#endif
  detail::dispatch_float(op, grad_y, [&]<typename T>() {
    kernels::cpu::expand_axis(grad_y.data<T>(), grad_x.data<T>(), outer, dim, inner, T(scale));
  });
}

// x viewed as (outer, dim, inner), reduced over the middle axis into `out_shape`, times `scale`.
Tensor reduce(const char* op, const Tensor& x, int64_t outer, int64_t dim, int64_t inner, double scale,
              const Shape& out_shape) {
  detail::check_float_inputs(op, {&x});
  check_device_dtype(op, x);
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  sum_into(op, x, y, outer, dim, inner, scale);
  if (needs_record({x})) {
    const Shape in_shape = x.shape();
    record(op, {x}, y, [=](const Tensor& g) -> TensorList {
      Tensor gx = Tensor::empty(in_shape, g.dtype(), g.device());
      expand(op, g, gx, outer, dim, inner, scale);
      return {gx};
    });
  }
  return y;
}

Tensor reduce_axis(const char* op, const Tensor& x, int64_t axis, bool keepdim, bool average) {
  const int64_t d = x.dim();
  KRAIT_CHECK(axis >= -d && axis < d, op, ": axis ", axis, " out of range for ", x.describe());
  if (axis < 0) axis += d;
  const Shape& s = x.shape();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[i];
  for (int64_t i = axis + 1; i < d; ++i) inner *= s[i];
  Shape out = s;
  if (keepdim) out[axis] = 1;
  else out.erase(out.begin() + axis);
  const double scale = average ? 1.0 / static_cast<double>(s[axis]) : 1.0;
  KRAIT_CHECK(!average || s[axis] > 0, op, ": mean over an empty axis of ", x.describe());
  return reduce(op, x, outer, s[axis], inner, scale, out);
}

}  // namespace

Tensor sum(const Tensor& x) { return reduce("sum", x, 1, x.numel(), 1, 1.0, {}); }

Tensor mean(const Tensor& x) {
  KRAIT_CHECK(x.numel() > 0, "mean: empty tensor ", x.describe());
  return reduce("mean", x, 1, x.numel(), 1, 1.0 / static_cast<double>(x.numel()), {});
}

Tensor sum(const Tensor& x, int64_t axis, bool keepdim) { return reduce_axis("sum", x, axis, keepdim, false); }
Tensor mean(const Tensor& x, int64_t axis, bool keepdim) { return reduce_axis("mean", x, axis, keepdim, true); }

}  // namespace krait::ops
