// autograd/ops/swiglu.cpp — SwiGLU's gate, silu(a) * b over the two halves of the last axis, as one op
// (no silu or product intermediates): backward saves only x, and one closure serves both devices through
// swiglu_backward_into(), which picks the kernel by the gradient's device.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/swiglu.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/swiglu.h"
#endif

namespace krait::ops {
namespace {

void swiglu_forward_into(const Tensor& x, const Tensor& y, int64_t rows, int64_t features) {
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    kernels::cuda::swiglu_forward(x.raw_data(), y.raw_data(), x.dtype(), rows, features, detail::stream_of(x));
    return;
  }
#endif
  detail::dispatch_float("swiglu", x, [&]<typename T>() {
    kernels::cpu::swiglu_forward(x.data<T>(), y.data<T>(), rows, features);
  });
}

void swiglu_backward_into(const Tensor& x, const Tensor& g, const Tensor& gx, int64_t rows, int64_t features) {
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    kernels::cuda::swiglu_backward(x.raw_data(), g.raw_data(), gx.raw_data(), g.dtype(), rows, features,
                                   detail::stream_of(g));
    return;
  }
#endif
  detail::dispatch_float("swiglu backward", g, [&]<typename T>() {
    kernels::cpu::swiglu_backward(x.data<T>(), g.data<T>(), gx.data<T>(), rows, features);
  });
}

}  // namespace

Tensor swiglu(const Tensor& x) {
  detail::check_float_inputs("swiglu", {&x});
  KRAIT_CHECK(x.dim() >= 1 && x.size(-1) % 2 == 0, "swiglu: the last axis of x ", x.describe(),
              " must have an even length (gate and value halves)");
  const int64_t features = x.size(-1) / 2;
  Shape shape = x.shape();
  shape.back() = features;
  int64_t rows = 1;
  for (size_t axis = 0; axis + 1 < shape.size(); ++axis) rows *= shape[axis];
  Tensor y = Tensor::empty(shape, x.dtype(), x.device());
  swiglu_forward_into(x, y, rows, features);
  if (needs_record({x})) {
    const Tensor saved = x.detach();
    record("swiglu", {x}, y, [saved, rows, features](const Tensor& g) -> TensorList {
      Tensor gx = Tensor::empty(saved.shape(), g.dtype(), g.device());
      swiglu_backward_into(saved, g, gx, rows, features);
      return {gx};
    });
  }
  return y;
}

}  // namespace krait::ops
