// autograd/ops/cross_entropy.cpp — mean or summed softmax cross-entropy with ignored rows. Forward
// saves the logits and the per-row log-sum-exp; backward recomputes the softmax from them, so no
// (N, V) probability copy stays alive between forward and backward.
#include <sstream>

#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/cross_entropy.h"
#if KRAIT_HAS_CUDA
#include "autograd/cuda_context.h"
#include "kernels/cuda/cross_entropy.h"
#endif

namespace krait::ops {
namespace {

#if KRAIT_HAS_CUDA
// The loss is f32 whatever the logits' dtype. Nothing here waits for the device: the targets are
// checked when the host next does (cuda::defer_check; the kernels read no logit at an invalid target),
// and the backward reads the kept-row count (for the mean) and the incoming gradient on the device.
Tensor cuda_cross_entropy(const Tensor& logits, const Tensor& targets64, int64_t ignore_index, Reduction reduction) {
  namespace gpu = kernels::cuda;
  const int64_t rows = logits.size(0), vocab = logits.size(1);
  const cudaStream_t stream = detail::stream_of(logits);
  const Tensor first_bad = Tensor::empty({1}, DType::I64, logits.device());
  gpu::find_first_invalid_target(targets64.data<int64_t>(), rows, vocab, ignore_index, first_bad.data<int64_t>(),
                                 stream);
  cuda::defer_check(first_bad, [targets64, logits_text = logits.describe(), vocab, ignore_index](int64_t bad) {
    std::ostringstream os;
    os << "cross_entropy: target " << targets64.to(Device::cpu()).data<int64_t>()[bad] << " of row " << bad
       << " is outside [0, " << vocab << ") for logits " << logits_text << " and is not ignore_index ("
       << ignore_index << ")";
    return os.str();
  });
  Tensor row_loss = Tensor::empty({rows}, DType::F32, logits.device());
  Tensor lse = Tensor::empty({rows}, DType::F32, logits.device());
  gpu::cross_entropy_forward(logits.raw_data(), logits.dtype(), targets64.data<int64_t>(), row_loss.data<float>(),
                             lse.data<float>(), rows, vocab, ignore_index, stream);
  Tensor loss = Tensor::empty({}, DType::F32, logits.device());
  Tensor kept = Tensor::empty({}, DType::I64, logits.device());
  gpu::cross_entropy_reduce(row_loss.data<float>(), targets64.data<int64_t>(), rows, ignore_index,
                            reduction == Reduction::Mean, loss.data<float>(), kept.data<int64_t>(), stream);
  if (needs_record({logits})) {
    const Tensor saved = logits.detach();
    const bool mean = reduction == Reduction::Mean;
    record("cross_entropy", {logits}, loss, [=](const Tensor& g) -> TensorList {
      Tensor gl = Tensor::empty(saved.shape(), saved.dtype(), saved.device());
      const Tensor g32 = g.to(DType::F32);
      gpu::cross_entropy_backward(saved.raw_data(), saved.dtype(), targets64.data<int64_t>(), lse.data<float>(),
                                  g32.data<float>(), mean ? kept.data<int64_t>() : nullptr, gl.raw_data(), rows,
                                  vocab, ignore_index, detail::stream_of(g));
      return {gl};
    });
  }
  return loss;
}
#endif

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Reduction reduction) {
  detail::check_float_inputs("cross_entropy", {&logits});
  detail::check_dim("cross_entropy", "logits", logits, 2);
  const int64_t rows = logits.size(0), vocab = logits.size(1);
  KRAIT_CHECK(vocab > 0, "cross_entropy: logits ", logits.describe(), " have no classes");
  KRAIT_CHECK(targets.dtype() == DType::I32 || targets.dtype() == DType::I64,
              "cross_entropy: targets must be i32 or i64, got ", targets.describe());
  detail::check_shape("cross_entropy", "targets", targets, {rows});
  KRAIT_CHECK(targets.device() == logits.device(), "cross_entropy: targets ", targets.describe(), " and logits ",
              logits.describe(), " are on different devices");
  const Tensor targets64 = targets.to(DType::I64);  // the kernels take one index type; i32 is widened
#if KRAIT_HAS_CUDA
  if (logits.device().is_cuda()) return cuda_cross_entropy(logits, targets64, ignore_index, reduction);
#endif
  Tensor lse = Tensor::empty({rows}, logits.dtype(), logits.device());
  kernels::cpu::CrossEntropySum total;
  detail::dispatch_float("cross_entropy", logits, [&]<typename T>() {
    const int64_t* target = targets64.data<int64_t>();
    const int64_t bad = kernels::cpu::first_invalid_target(target, rows, vocab, ignore_index);
    KRAIT_CHECK(bad < 0, "cross_entropy: target ", target[bad], " of row ", bad, " is outside [0, ", vocab,
                ") for logits ", logits.describe(), " and is not ignore_index (", ignore_index, ")");
    total = kernels::cpu::cross_entropy_forward(logits.data<T>(), target, lse.data<T>(), rows, vocab, ignore_index);
  });
  // Mean over no kept rows is 0, with a zero gradient.
  const double scale = reduction == Reduction::Sum ? 1.0 : total.kept > 0 ? 1.0 / double(total.kept) : 0.0;
  Tensor loss = Tensor::full({}, total.loss * scale, logits.dtype(), logits.device());
  if (needs_record({logits})) {
    const Tensor saved = logits.detach();
    record("cross_entropy", {logits}, loss, [=](const Tensor& g) -> TensorList {
      Tensor gl = Tensor::empty(saved.shape(), g.dtype(), g.device());
      detail::dispatch_float("cross_entropy backward", g, [&]<typename T>() {
        kernels::cpu::cross_entropy_backward(saved.data<T>(), targets64.data<int64_t>(), lse.data<T>(),
                                             T(scale * g.item()), gl.data<T>(), saved.size(0), saved.size(1),
                                             ignore_index);
      });
      return {gl};
    });
  }
  return loss;
}

}  // namespace krait::ops
