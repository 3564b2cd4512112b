// autograd/ops/reduce.cpp — sum and mean, over everything or along one axis.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/reduce.h"

namespace krait::ops {
namespace {

// x viewed as (outer, dim, inner), reduced over the middle axis into `out_shape`, times `scale`.
Tensor reduce(const char* op, const Tensor& x, int64_t outer, int64_t dim, int64_t inner, double scale,
              const Shape& out_shape) {
  detail::check_float_inputs(op, {&x});
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  detail::dispatch_float(op, x, [&]<typename T>() {
    kernels::cpu::sum_axis(x.data<T>(), y.data<T>(), outer, dim, inner, T(scale));
  });
  if (needs_record({x})) {
    const Shape in_shape = x.shape();
    record(op, {x}, y, [=](const Tensor& g) -> TensorList {
      Tensor gx = Tensor::empty(in_shape, g.dtype(), g.device());
      detail::dispatch_float(op, g, [&]<typename T>() {
        kernels::cpu::expand_axis(g.data<T>(), gx.data<T>(), outer, dim, inner, T(scale));
      });
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
