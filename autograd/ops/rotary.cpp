// autograd/ops/rotary.cpp — rotary position embedding on a fused qkv projection. The rotation is
// orthogonal, so the gradient is the inverse rotation of the output's gradient: backward saves nothing
// (not qkv), and one closure serves both devices through rotate_into(), which picks the kernel.
#include <cmath>

#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/rotary.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/rotary.h"
#endif

namespace krait::ops {
namespace {

// out = in rotated forward, or back when inverse; in and out (B, L, 3 * n_head * head_dim) on one device.
void rotate_into(const Tensor& in, const Tensor& out, int64_t n_head, double theta, bool inverse) {
  const int64_t batch = in.size(0), seq = in.size(1), head_dim = in.size(2) / (3 * n_head);
#if KRAIT_HAS_CUDA
  if (in.device().is_cuda()) {
    const auto kernel = inverse ? kernels::cuda::rotary_backward : kernels::cuda::rotary_forward;
    kernel(in.raw_data(), out.raw_data(), in.dtype(), batch, seq, n_head, head_dim, theta, detail::stream_of(in));
    return;
  }
#endif
  detail::dispatch_float(inverse ? "rotary backward" : "rotary", in, [&]<typename T>() {
    const auto kernel = inverse ? kernels::cpu::rotary_backward<T> : kernels::cpu::rotary_forward<T>;
    kernel(in.data<T>(), out.data<T>(), batch, seq, n_head, head_dim, theta);
  });
}

}  // namespace

Tensor rotary(const Tensor& qkv, int64_t n_head, double theta) {
  detail::check_float_inputs("rotary", {&qkv});
  detail::check_dim("rotary", "qkv", qkv, 3);
  KRAIT_CHECK(n_head > 0, "rotary: n_head must be > 0, got ", n_head);
  KRAIT_CHECK(qkv.size(2) % (3 * n_head) == 0, "rotary: the last axis of qkv ", qkv.describe(),
              " is not 3 x n_head (", n_head, ") heads of one width");
  const int64_t head_dim = qkv.size(2) / (3 * n_head);
  KRAIT_CHECK(head_dim > 0 && head_dim % 2 == 0, "rotary: the head width ", head_dim, " of qkv ", qkv.describe(),
              " with ", n_head, " heads must be even and > 0");
  KRAIT_CHECK(std::isfinite(theta) && theta > 0, "rotary: theta must be > 0, got ", theta);
  Tensor out = Tensor::empty(qkv.shape(), qkv.dtype(), qkv.device());
  rotate_into(qkv, out, n_head, theta, false);
  if (needs_record({qkv})) {
    record("rotary", {qkv}, out, [n_head, theta](const Tensor& g) -> TensorList {
      Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
      rotate_into(g, gx, n_head, theta, true);
      return {gx};
    });
  }
  return out;
}

}  // namespace krait::ops
