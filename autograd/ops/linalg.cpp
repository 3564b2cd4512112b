// autograd/ops/linalg.cpp — matmul with transposes, batched, or with a shared left or right operand.
// Backward (C = op(A) op(B), G = dL/dC): dop(A) = G op(B)^T and dop(B) = op(A)^T G, each written as
// one more gemm with the transposes chosen so that no operand is copied.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/gemm.h"
#if KRAIT_HAS_CUDA
#include "autograd/cuda_context.h"
#include "kernels/cuda/gemm.h"
#endif

namespace krait::ops {
namespace {
using kernels::cpu::GemmShape;

// Runs gemm on two tensors of one float dtype and device into out (already allocated, right shape).
void run_gemm(const GemmShape& s, const Tensor& a, const Tensor& b, const Tensor& out) {
  detail::gemm_raw(s, a.device(), a.dtype(), out.dtype(), a.raw_data(), b.raw_data(), out.raw_data());
}

// op(x) (m x k) times op(y) (k x n) for each of `batch` matrices; stride 0 shares an operand,
// reduce_batches sums all products into one (m x n) result. That sum runs one product at a time into
// C, so a bf16 result is accumulated in f32 and rounded once at the end, as a single product would be.
Tensor product(const Tensor& x, bool tx, const Tensor& y, bool ty, int64_t batch, int64_t m, int64_t n, int64_t k,
               bool x_shared, bool y_shared, bool reduce_batches, const Shape& out_shape) {
  const bool widen = reduce_batches && batch > 1 && x.dtype() == DType::BF16;
  Tensor out = Tensor::empty(out_shape, widen ? DType::F32 : x.dtype(), x.device());
  GemmShape s;
  s.batch = batch;
  s.m = m, s.n = n, s.k = k;
  s.trans_a = tx, s.trans_b = ty;
  s.stride_a = x_shared ? 0 : m * k;
  s.stride_b = y_shared ? 0 : k * n;
  s.stride_c = reduce_batches ? 0 : m * n;
  if (reduce_batches && batch == 0) out.fill_zero();
  run_gemm(s, x, y, out);
  return widen ? out.to(x.dtype()) : out;
}

}  // namespace

void detail::gemm_raw(const GemmShape& s, Device device, DType input, DType output, const void* a, const void* b,
                      void* c) {
#if KRAIT_HAS_CUDA
  if (device.is_cuda()) {
    const kernels::cuda::GemmProblem p{s.batch,    s.m,        s.n,        s.k,          s.trans_a, s.trans_b,
                                       s.stride_a, s.stride_b, s.stride_c, s.accumulate, input,     output};
    kernels::cuda::gemm(cuda::gemm_context(device.index), p, a, b, c);
    return;
  }
#endif
  KRAIT_CHECK(device.is_cpu() && input == output && (input == DType::F32 || input == DType::F64), "matmul: no ",
              device.str(), " product of ", dtype_name(input), " into ", dtype_name(output));
  if (input == DType::F32) kernels::cpu::gemm(s, static_cast<const float*>(a), static_cast<const float*>(b), static_cast<float*>(c));
  else kernels::cpu::gemm(s, static_cast<const double*>(a), static_cast<const double*>(b), static_cast<double*>(c));
}

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  detail::check_float_inputs("matmul", {&a, &b});
  KRAIT_CHECK(a.dim() >= 2, "matmul: a must be at least 2-D, got ", a.describe());
  const bool shared_b = b.dim() == 2;
  const bool shared_a = a.dim() == 2 && b.dim() == 3;
  KRAIT_CHECK(shared_b || shared_a || (b.dim() == 3 && a.dim() == 3 && b.size(0) == a.size(0)), "matmul: b ",
              b.describe(), " must be 2-D, or 3-D with a 2-D a or a 3-D a of its batch (a is ", a.describe(), ")");
  const int64_t m = trans_a ? a.size(-1) : a.size(-2), k = trans_a ? a.size(-2) : a.size(-1);
  const int64_t kb = trans_b ? b.size(-1) : b.size(-2), n = trans_b ? b.size(-2) : b.size(-1);
  KRAIT_CHECK(k == kb, "matmul: inner dimensions differ: ", a.describe(), (trans_a ? "^T" : ""), " x ",
              b.describe(), (trans_b ? "^T" : ""), " (", k, " vs ", kb, ")");
  const int64_t batch = shared_a ? b.size(0) : a.numel() / std::max<int64_t>(m * k, 1);
  Shape out_shape = shared_a ? Shape{batch} : Shape(a.shape().begin(), a.shape().end() - 2);
  out_shape.push_back(m);
  out_shape.push_back(n);

  // A shared B with an untransposed A is one tall gemm over all rows of A.
  const bool flat = shared_b && !trans_a;
  const int64_t gb = flat ? 1 : batch, gm = flat ? batch * m : m;
  Tensor c = product(a, trans_a, b, trans_b, gb, gm, n, k, shared_a, shared_b, false, out_shape);

  if (needs_record({a, b})) {
    const Tensor sa = a.detach(), sb = b.detach();
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    // A shared operand's gradient is summed over the batch (reduce_batches).
    record("matmul", {a, b}, c, [=](const Tensor& g) -> TensorList {
      Tensor ga, gb_;
      if (need_a) {
        ga = trans_a ? product(sb, trans_b, g, true, gb, k, gm, n, shared_b, false, shared_a, sa.shape())
                     : product(g, false, sb, !trans_b, gb, gm, k, n, false, shared_b, shared_a, sa.shape());
      }
      if (need_b) {
        gb_ = trans_b ? product(g, true, sa, trans_a, gb, n, k, gm, false, shared_a, shared_b, sb.shape())
                      : product(sa, !trans_a, g, false, gb, k, n, gm, shared_a, false, shared_b, sb.shape());
      }
      return {ga, gb_};
    });
  }
  return c;
}

}  // namespace krait::ops
