// autograd/ops/attention.cpp — ops::causal_attention: checks the fused qkv, runs the forward kernel
// (CPU reference or CUDA), and records a node that saves qkv, the output and the per-row log-sum-exp;
// backward recomputes the probabilities from them (FlashAttention's scheme). One closure serves both
// devices through attention_backward_into(), which picks the kernel by the gradient's device.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/attention.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/attention.h"
#endif

namespace krait::ops {
namespace {
constexpr const char* kOp = "causal_attention";

struct Dims {
  int64_t batch, length, heads, head_dim;
};

Dims check_inputs(const Tensor& qkv, int64_t n_head) {
  detail::check_float_inputs(kOp, {&qkv});
  detail::check_dim(kOp, "qkv", qkv, 3);
  KRAIT_CHECK(n_head > 0, kOp, ": n_head must be positive, got ", n_head);
  const int64_t width = qkv.size(2);
  KRAIT_CHECK(width > 0 && width % (3 * n_head) == 0, kOp, ": qkv ", qkv.describe(), " has a last axis of ", width,
              ", expected 3 * n_head * head_dim with n_head = ", n_head);
  const int64_t head_dim = width / (3 * n_head);
  if (qkv.device().is_cuda()) {
    KRAIT_CHECK(qkv.dtype() == DType::F32 || qkv.dtype() == DType::BF16, kOp, ": unsupported qkv ", qkv.describe(),
                " (expected f32 or bf16 on cuda)");
#if KRAIT_HAS_CUDA
    KRAIT_CHECK(head_dim <= kernels::cuda::kMaxAttentionHeadDim, kOp, ": qkv ", qkv.describe(), " with n_head = ",
                n_head, " has head_dim ", head_dim, "; the CUDA kernels take at most ",
                kernels::cuda::kMaxAttentionHeadDim);
#endif
  } else {
    KRAIT_CHECK(qkv.dtype() == DType::F32 || qkv.dtype() == DType::F64, kOp, ": unsupported qkv ", qkv.describe(),
                " (expected f32 or f64 on the cpu)");
  }
  return {qkv.size(0), qkv.size(1), n_head, head_dim};
}

// out (B, L, H * Dh) and lse (B, H, L) from qkv.
void attention_forward_into(const Tensor& qkv, const Tensor& out, const Tensor& lse, const Dims& d) {
#if KRAIT_HAS_CUDA
  if (qkv.device().is_cuda()) {
    kernels::cuda::causal_attention_forward(qkv.raw_data(), qkv.dtype(), out.raw_data(), lse.data<float>(), d.batch,
                                            d.length, d.heads, d.head_dim, detail::stream_of(qkv));
    return;
  }
#endif
  detail::dispatch_float(kOp, qkv, [&]<typename T>() {
    kernels::cpu::causal_attention_forward(qkv.data<T>(), out.data<T>(), lse.data<T>(), d.batch, d.length, d.heads,
                                           d.head_dim);
  });
}

// grad_qkv from g (the gradient of out), given the forward's qkv, out and lse.
void attention_backward_into(const Tensor& qkv, const Tensor& out, const Tensor& lse, const Tensor& g,
                             const Tensor& grad_qkv, const Dims& d) {
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    const Tensor workspace =
        detail::workspace_like(g, kernels::cuda::causal_attention_backward_workspace_bytes(d.batch, d.length, d.heads));
    kernels::cuda::causal_attention_backward(qkv.raw_data(), out.raw_data(), lse.data<float>(), g.raw_data(),
                                             qkv.dtype(), grad_qkv.raw_data(), detail::raw_or_null(workspace),
                                             d.batch, d.length, d.heads, d.head_dim, detail::stream_of(g));
    return;
  }
#endif
  detail::dispatch_float("causal_attention backward", qkv, [&]<typename T>() {
    kernels::cpu::causal_attention_backward(qkv.data<T>(), out.data<T>(), lse.data<T>(), g.data<T>(),
                                            grad_qkv.data<T>(), d.batch, d.length, d.heads, d.head_dim);
  });
}

}  // namespace

Tensor causal_attention(const Tensor& qkv, int64_t n_head) {
  const Dims d = check_inputs(qkv, n_head);
  Tensor out = Tensor::empty({d.batch, d.length, d.heads * d.head_dim}, qkv.dtype(), qkv.device());
  const DType lse_dtype = qkv.device().is_cuda() ? DType::F32 : qkv.dtype();
  const Tensor lse = Tensor::empty({d.batch, d.heads, d.length}, lse_dtype, qkv.device());
  attention_forward_into(qkv, out, lse, d);
  if (needs_record({qkv})) {
    const Tensor saved_qkv = qkv.detach(), saved_out = out.detach();
    record(kOp, {qkv}, out, [=](const Tensor& g) -> TensorList {
      const Tensor grad_qkv = Tensor::empty(saved_qkv.shape(), saved_qkv.dtype(), g.device());
      attention_backward_into(saved_qkv, saved_out, lse, g.to(saved_qkv.dtype()), grad_qkv, d);
      return {grad_qkv};
    });
  }
  return out;
}

}  // namespace krait::ops
