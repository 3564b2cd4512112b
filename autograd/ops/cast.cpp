// autograd/ops/cast.cpp — cast: a differentiable dtype conversion (mixed precision casts fp32 master
// weights to bf16 for the matmuls and bf16 results back to the fp32 residual stream). The gradient
// is converted back to the input's dtype.
#include "autograd/ops.h"
#include "autograd/ops/common.h"

namespace krait::ops {

Tensor cast(const Tensor& x, DType dtype) {
  KRAIT_CHECK(is_floating(x.dtype()) && is_floating(dtype), "cast: ", x.describe(), " to ", dtype_name(dtype),
              ": only floating types");
  if (x.dtype() == dtype) return x;
  Tensor y = x.detach().to(dtype);
  if (needs_record({x})) {
    const DType from = x.dtype();
    record("cast", {x}, y, [from](const Tensor& g) -> TensorList { return {g.to(from)}; });
  }
  return y;
}

}  // namespace krait::ops
