// autograd/ops/elementwise.cpp — pointwise ops and bias-broadcast add/mul, on the CPU (f32, f64) and
// on CUDA (f32, bf16). Each backward closure serves both devices: it calls ops, or a helper that picks the
// kernel by the gradient's device (unary_backward_into, sum_outer).
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/elementwise.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/elementwise.h"
#endif

namespace krait::ops {
namespace {
namespace cpu = kernels::cpu;
using detail::dispatch_float;

#if KRAIT_HAS_CUDA
namespace gpu = kernels::cuda;
using detail::stream_of;
#endif

// The kernel of a pointwise op on each backend. `saved` (for backward) is the input, or the
// output when the op's backward needs only y (sigmoid, exp).
struct Pointwise {
  bool backward_uses_output;
#if KRAIT_HAS_CUDA
  gpu::Unary gpu_op;
#endif
};

// gx = the gradient of a pointwise op from g and `saved` (see Pointwise).
template <typename Backward>
void unary_backward_into(const char* op, [[maybe_unused]] const Pointwise& kind, Backward backward, const Tensor& saved,
                         const Tensor& g, const Tensor& gx) {
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    gpu::unary_backward(kind.gpu_op, saved.raw_data(), g.raw_data(), gx.raw_data(), g.dtype(), g.numel(),
                        stream_of(g));
    return;
  }
#endif
  dispatch_float(op, g, [&]<typename T>() { backward(saved.data<T>(), g.data<T>(), gx.data<T>(), g.numel()); });
}

template <typename Forward, typename Backward>
Tensor unary(const char* op, const Tensor& x, const Pointwise& kind, Forward forward, Backward backward) {
  detail::check_float_inputs(op, {&x});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) gpu::unary_forward(kind.gpu_op, x.raw_data(), y.raw_data(), x.dtype(), x.numel(), stream_of(x));
  else
#endif
    dispatch_float(op, x, [&]<typename T>() { forward(x.data<T>(), y.data<T>(), x.numel()); });
  if (needs_record({x})) {
    const Tensor saved = kind.backward_uses_output ? y.detach() : x.detach();
    record(op, {x}, y, [op, saved, kind, backward](const Tensor& g) -> TensorList {
      Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
      unary_backward_into(op, kind, backward, saved, g, gx);
      return {gx};
    });
  }
  return y;
}

#if KRAIT_HAS_CUDA
#define KRAIT_POINTWISE(uses_output, op) Pointwise{uses_output, gpu::Unary::op}
#else
#define KRAIT_POINTWISE(uses_output, op) Pointwise{uses_output}
#endif

// How b broadcasts against a: b repeats `outer` times over a's leading axes.
struct Broadcast {
  int64_t outer, inner;
  bool same_shape() const { return outer == 1; }
};

Broadcast broadcast_of(const char* op, const Tensor& a, const Tensor& b) {
  detail::check_float_inputs(op, {&a, &b});
  const Shape &sa = a.shape(), &sb = b.shape();
  const bool trailing = sb.size() <= sa.size() && std::equal(sb.begin(), sb.end(), sa.end() - sb.size());
  KRAIT_CHECK(trailing, op, ": cannot broadcast ", b.describe(), " against ", a.describe(),
              " (b must have a's shape or a's trailing shape)");
  const int64_t inner = b.numel();
  return {inner == 0 ? 0 : a.numel() / inner, inner};
}

// The gradient of a broadcast operand b of `shape`: g (* w when w is defined, for mul) summed over the rows
// b repeats over.
Tensor sum_outer(const char* op, const Tensor& g, const Tensor& w, const Shape& shape, const Broadcast& bc) {
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    if (w.defined() && bc.same_shape()) return mul(g, w);  // one row, nothing to sum: the product itself
    Tensor out = Tensor::empty(shape, g.dtype(), g.device());
    const Tensor workspace = detail::workspace_like(g, gpu::sum_outer_workspace_bytes(bc.outer, bc.inner));
    gpu::sum_outer(g.raw_data(), detail::raw_or_null(w), out.raw_data(), g.dtype(), bc.outer, bc.inner,
                   detail::raw_or_null(workspace), stream_of(g));
    return out;
  }
#endif
  Tensor out = Tensor::empty(shape, g.dtype(), g.device());
  dispatch_float(op, g, [&]<typename T>() {
    if (w.defined()) cpu::sum_outer_product(g.data<T>(), w.data<T>(), out.data<T>(), bc.outer, bc.inner);
    else cpu::sum_outer(g.data<T>(), out.data<T>(), bc.outer, bc.inner);
  });
  return out;
}

}  // namespace

Tensor silu(const Tensor& x) {
  return unary("silu", x, KRAIT_POINTWISE(false, Silu),
               [](auto* in, auto* out, int64_t n) { cpu::silu_forward(in, out, n); },
               [](auto* in, auto* g, auto* gx, int64_t n) { cpu::silu_backward(in, g, gx, n); });
}

Tensor softplus(const Tensor& x) {
  return unary("softplus", x, KRAIT_POINTWISE(false, Softplus),
               [](auto* in, auto* out, int64_t n) { cpu::softplus_forward(in, out, n); },
               [](auto* in, auto* g, auto* gx, int64_t n) { cpu::softplus_backward(in, g, gx, n); });
}

Tensor sigmoid(const Tensor& x) {
  return unary("sigmoid", x, KRAIT_POINTWISE(true, Sigmoid),
               [](auto* in, auto* out, int64_t n) { cpu::sigmoid_forward(in, out, n); },
               [](auto* y, auto* g, auto* gx, int64_t n) { cpu::sigmoid_backward(y, g, gx, n); });
}

Tensor exp(const Tensor& x) {
  return unary("exp", x, KRAIT_POINTWISE(true, Exp), [](auto* in, auto* out, int64_t n) { cpu::exp_forward(in, out, n); },
               [](auto* y, auto* g, auto* gx, int64_t n) { cpu::mul_forward(y, g, gx, n); });
}

Tensor scale(const Tensor& x, double alpha) {
  detail::check_float_inputs("scale", {&x});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) gpu::scale(x.raw_data(), float(alpha), y.raw_data(), x.dtype(), x.numel(), stream_of(x));
  else
#endif
    dispatch_float("scale", x, [&]<typename T>() { cpu::scale(x.data<T>(), T(alpha), y.data<T>(), x.numel()); });
  if (needs_record({x})) {
    record("scale", {x}, y, [alpha](const Tensor& g) -> TensorList {
      NoGradGuard no_grad;
      return {scale(g, alpha)};
    });
  }
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) {
  const Broadcast bc = broadcast_of("add", a, b);
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
#if KRAIT_HAS_CUDA
  if (a.device().is_cuda())
    gpu::binary_forward(gpu::Binary::Add, a.raw_data(), b.raw_data(), y.raw_data(), a.dtype(), bc.outer, bc.inner,
                        stream_of(a));
  else
#endif
    dispatch_float("add", a, [&]<typename T>() {
      cpu::add_broadcast(a.data<T>(), b.data<T>(), y.data<T>(), bc.outer, bc.inner);
    });
  if (needs_record({a, b})) {
    const Shape b_shape = b.shape();
    record("add", {a, b}, y, [bc, b_shape](const Tensor& g) -> TensorList {
      if (bc.same_shape()) return {g, g};
      return {g, sum_outer("add backward", g, Tensor(), b_shape, bc)};
    });
  }
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  const Broadcast bc = broadcast_of("mul", a, b);
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
#if KRAIT_HAS_CUDA
  if (a.device().is_cuda())
    gpu::binary_forward(gpu::Binary::Mul, a.raw_data(), b.raw_data(), y.raw_data(), a.dtype(), bc.outer, bc.inner,
                        stream_of(a));
  else
#endif
    dispatch_float("mul", a, [&]<typename T>() {
      cpu::mul_broadcast(a.data<T>(), b.data<T>(), y.data<T>(), bc.outer, bc.inner);
    });
  if (needs_record({a, b})) {
    const Tensor sa = a.detach(), sb = b.detach();
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    record("mul", {a, b}, y, [bc, sa, sb, need_a, need_b](const Tensor& g) -> TensorList {
      NoGradGuard no_grad;
      Tensor ga, gb;
      if (need_a) ga = mul(g, sb);
      if (need_b) gb = sum_outer("mul backward", g, sa, sb.shape(), bc);
      return {ga, gb};
    });
  }
  return y;
}

}  // namespace krait::ops
