// autograd/ops/elementwise.cpp — pointwise ops and bias-broadcast add/mul.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/elementwise.h"

namespace krait::ops {
namespace {
namespace cpu = kernels::cpu;
using detail::dispatch_float;

// One pointwise op: forward(x, y, n) and backward(saved, grad_y, grad_x, n), where `saved` is the
// input, or the output when backward_uses_output (sigmoid, exp need only y).
template <typename Forward, typename Backward>
Tensor unary(const char* op, const Tensor& x, bool backward_uses_output, Forward forward, Backward backward) {
  detail::check_float_inputs(op, {&x});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(op, x, [&]<typename T>() { forward(x.data<T>(), y.data<T>(), x.numel()); });
  if (needs_record({x})) {
    const Tensor saved = backward_uses_output ? y.detach() : x.detach();
    record(op, {x}, y, [op, saved, backward](const Tensor& g) -> TensorList {
      Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
      dispatch_float(op, g, [&]<typename T>() { backward(saved.data<T>(), g.data<T>(), gx.data<T>(), g.numel()); });
      return {gx};
    });
  }
  return y;
}

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

}  // namespace

Tensor silu(const Tensor& x) {
  return unary("silu", x, false, [](auto* in, auto* out, int64_t n) { cpu::silu_forward(in, out, n); },
               [](auto* in, auto* g, auto* gx, int64_t n) { cpu::silu_backward(in, g, gx, n); });
}

Tensor softplus(const Tensor& x) {
  return unary("softplus", x, false, [](auto* in, auto* out, int64_t n) { cpu::softplus_forward(in, out, n); },
               [](auto* in, auto* g, auto* gx, int64_t n) { cpu::softplus_backward(in, g, gx, n); });
}

Tensor sigmoid(const Tensor& x) {
  return unary("sigmoid", x, true, [](auto* in, auto* out, int64_t n) { cpu::sigmoid_forward(in, out, n); },
               [](auto* y, auto* g, auto* gx, int64_t n) { cpu::sigmoid_backward(y, g, gx, n); });
}

Tensor exp(const Tensor& x) {
  return unary("exp", x, true, [](auto* in, auto* out, int64_t n) { cpu::exp_forward(in, out, n); },
               [](auto* y, auto* g, auto* gx, int64_t n) { cpu::mul_forward(y, g, gx, n); });
}

Tensor scale(const Tensor& x, double alpha) {
  return unary("scale", x, false, [alpha]<typename T>(const T* in, T* out, int64_t n) { cpu::scale(in, T(alpha), out, n); },
               [alpha]<typename T>(const T*, const T* g, T* gx, int64_t n) { cpu::scale(g, T(alpha), gx, n); });
}

Tensor add(const Tensor& a, const Tensor& b) {
  const Broadcast bc = broadcast_of("add", a, b);
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float("add", a, [&]<typename T>() {
    cpu::add_broadcast(a.data<T>(), b.data<T>(), y.data<T>(), bc.outer, bc.inner);
  });
  if (needs_record({a, b})) {
    const Shape b_shape = b.shape();
    record("add", {a, b}, y, [bc, b_shape](const Tensor& g) -> TensorList {
      if (bc.same_shape()) return {g, g};
      Tensor gb = Tensor::empty(b_shape, g.dtype(), g.device());
      dispatch_float("add backward", g, [&]<typename T>() { cpu::sum_outer(g.data<T>(), gb.data<T>(), bc.outer, bc.inner); });
      return {g, gb};
    });
  }
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  const Broadcast bc = broadcast_of("mul", a, b);
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float("mul", a, [&]<typename T>() {
    cpu::mul_broadcast(a.data<T>(), b.data<T>(), y.data<T>(), bc.outer, bc.inner);
  });
  if (needs_record({a, b})) {
    const Tensor sa = a.detach(), sb = b.detach();
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    record("mul", {a, b}, y, [bc, sa, sb, need_a, need_b](const Tensor& g) -> TensorList {
      Tensor ga, gb;
      dispatch_float("mul backward", g, [&]<typename T>() {
        if (need_a) {
          ga = Tensor::empty(sa.shape(), g.dtype(), g.device());
          cpu::mul_broadcast(g.data<T>(), sb.data<T>(), ga.data<T>(), bc.outer, bc.inner);
        }
        if (need_b) {
          gb = Tensor::empty(sb.shape(), g.dtype(), g.device());
          cpu::sum_outer_product(g.data<T>(), sa.data<T>(), gb.data<T>(), bc.outer, bc.inner);
        }
      });
      return {ga, gb};
    });
  }
  return y;
}

}  // namespace krait::ops
