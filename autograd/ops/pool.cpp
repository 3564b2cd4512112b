// autograd/ops/pool.cpp — sequence pooling: the mean over each row's first lengths[b] positions, or the
// value at its last one. The backward needs only the lengths (and shapes), never x: Mean spreads g / n_b
// over the first n_b positions, Last puts g at position n_b - 1, zeros elsewhere. One closure serves
// both devices through pool_backward_into(), which picks the kernel by the gradient's device.
#include <sstream>

#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/pool.h"
#if KRAIT_HAS_CUDA
#include "autograd/cuda_context.h"
#include "kernels/cuda/pool.h"
#endif

namespace krait::ops {
namespace {

constexpr const char* kOp = "pool_sequence";

kernels::cpu::PoolKind kind_of(PoolMode mode) {
  return mode == PoolMode::Mean ? kernels::cpu::PoolKind::Mean : kernels::cpu::PoolKind::Last;
}

const int32_t* lengths_or_null(const Tensor& lengths) {
  return lengths.defined() ? lengths.data<int32_t>() : nullptr;
}

std::string bad_length_message(int64_t b, int32_t value, int64_t len, const std::string& x_text,
                               const std::string& lengths_text) {
  std::ostringstream os;
  os << kOp << ": lengths[" << b << "] = " << value << " is outside [1, " << len << "] (lengths " << lengths_text
     << ", x " << x_text << ")";
  return os.str();
}

// y (B, D) = pooled x (B, L, D).
void pool_forward_into(PoolMode mode, const Tensor& x, const Tensor& lengths, const Tensor& y, int64_t batch,
                       int64_t len, int64_t dim) {
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    const Tensor workspace =
        detail::workspace_like(x, kernels::cuda::pool_forward_workspace_bytes(kind_of(mode), batch, len, dim));
    kernels::cuda::pool_forward(kind_of(mode), x.raw_data(), lengths_or_null(lengths), y.raw_data(), x.dtype(), batch,
                                len, dim, detail::raw_or_null(workspace), detail::stream_of(x));
    return;
  }
#endif
  detail::dispatch_float(kOp, x, [&]<typename T>() {
    kernels::cpu::pool_forward(kind_of(mode), x.data<T>(), lengths_or_null(lengths), y.data<T>(), batch, len, dim);
  });
}

// grad_x (B, L, D), every element written, from grad_y (B, D).
void pool_backward_into(PoolMode mode, const Tensor& grad_y, const Tensor& lengths, const Tensor& grad_x,
                        int64_t batch, int64_t len, int64_t dim) {
#if KRAIT_HAS_CUDA
  if (grad_y.device().is_cuda()) {
    kernels::cuda::pool_backward(kind_of(mode), grad_y.raw_data(), lengths_or_null(lengths), grad_x.raw_data(),
                                 grad_y.dtype(), batch, len, dim, detail::stream_of(grad_y));
    return;
  }
#endif
  detail::dispatch_float("pool_sequence backward", grad_y, [&]<typename T>() {
    kernels::cpu::pool_backward(kind_of(mode), grad_y.data<T>(), lengths_or_null(lengths), grad_x.data<T>(), batch,
                                len, dim);
  });
}

}  // namespace

Tensor pool_sequence(const Tensor& x, const Tensor& lengths, PoolMode mode) {
  KRAIT_CHECK(x.defined(), kOp, ": x is undefined");
  detail::check_float_inputs(kOp, {&x});
  KRAIT_CHECK(x.dim() == 3, kOp, ": x must be 3-D (B, L, D), got ", x.describe());
  const int64_t batch = x.size(0), len = x.size(1), dim = x.size(2);
  KRAIT_CHECK(len >= 1, kOp, ": x ", x.describe(), " has no positions (L = 0)");
  if (x.device().is_cuda())
    KRAIT_CHECK(x.dtype() == DType::F32 || x.dtype() == DType::BF16, kOp, ": on CUDA x must be f32 or bf16, got ",
                x.describe());
  else
    KRAIT_CHECK(x.dtype() == DType::F32 || x.dtype() == DType::F64, kOp, ": on the CPU x must be f32 or f64, got ",
                x.describe());
  if (lengths.defined()) {
    KRAIT_CHECK(lengths.dtype() == DType::I32 && lengths.shape() == Shape{batch}, kOp, ": lengths must be i32[",
                batch, "] (one per row of x ", x.describe(), "), got ", lengths.describe());
    KRAIT_CHECK(lengths.device() == x.device(), kOp, ": lengths ", lengths.describe(), " and x ", x.describe(),
                " are on different devices");
  }

  // Lengths outside [1, L]: on the CPU checked here; on CUDA checked on the device and reported when the
  // host next waits for it (cuda::defer_check), like embedding ids, so the op adds no synchronization to
  // a training step; the kernels clamp lengths to [1, L] meanwhile and stay in bounds.
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda() && lengths.defined()) {
    const Tensor first_bad = Tensor::empty({1}, DType::I64, x.device());
    kernels::cuda::find_first_invalid_length(lengths.data<int32_t>(), batch, len, first_bad.data<int64_t>(),
                                             detail::stream_of(x));
    cuda::defer_check(first_bad, [lengths, len, x_text = x.describe(), lengths_text = lengths.describe()](int64_t b) {
      const int32_t value = lengths.to(Device::cpu()).data<int32_t>()[b];
      return bad_length_message(b, value, len, x_text, lengths_text);
    });
  }
#endif
  if (x.device().is_cpu()) {
    const int64_t bad = kernels::cpu::first_invalid_length(lengths_or_null(lengths), batch, len);
    KRAIT_CHECK(bad < 0, bad_length_message(bad, bad < 0 ? 0 : lengths.data<int32_t>()[bad], len, x.describe(),
                                            lengths.defined() ? lengths.describe() : std::string()));
  }

  Tensor y = Tensor::empty({batch, dim}, x.dtype(), x.device());
  pool_forward_into(mode, x, lengths, y, batch, len, dim);
  if (needs_record({x})) {
    // Saved: the lengths (a few bytes) and the shape; not x.
    record(kOp, {x}, y, [lengths, mode, batch, len, dim](const Tensor& g) -> TensorList {
      Tensor gx = Tensor::empty({batch, len, dim}, g.dtype(), g.device());
      pool_backward_into(mode, g, lengths, gx, batch, len, dim);
      return {gx};
    });
  }
  return y;
}

}  // namespace krait::ops
