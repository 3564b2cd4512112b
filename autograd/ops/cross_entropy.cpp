// autograd/ops/cross_entropy.cpp — mean or summed softmax cross-entropy with ignored rows, over the
// first `classes` columns of the logits (a padded vocabulary's extra columns take no part). Forward
// saves the logits and the per-row log-sum-exp; backward recomputes the softmax from them, so no
// (N, V) probability copy stays alive between forward and backward. One closure serves both devices
// through cross_entropy_backward_into(), which picks the kernel by the gradient's device.
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

std::string bad_target_message(int64_t target, int64_t row, int64_t classes, const std::string& logits_text,
                               int64_t ignore_index) {
  std::ostringstream os;
  os << "cross_entropy: target " << target << " of row " << row << " is outside [0, " << classes << ") for logits "
     << logits_text << " and is not ignore_index (" << ignore_index << ")";
  return os.str();
}

// Targets outside [0, classes) other than ignore_index: on the CPU an error at once; on CUDA checked on
// the device and reported when the host next waits for it (cuda::defer_check), the kernels reading no
// logit at such a target meanwhile.
void check_targets(const Tensor& logits, const Tensor& targets64, int64_t classes, int64_t ignore_index) {
  const int64_t rows = logits.size(0);
#if KRAIT_HAS_CUDA
  if (logits.device().is_cuda()) {
    const Tensor first_bad = Tensor::empty({1}, DType::I64, logits.device());
    kernels::cuda::find_first_invalid_target(targets64.data<int64_t>(), rows, classes, ignore_index,
                                             first_bad.data<int64_t>(), detail::stream_of(logits));
    cuda::defer_check(first_bad, [targets64, logits_text = logits.describe(), classes, ignore_index](int64_t bad) {
      return bad_target_message(targets64.to(Device::cpu()).data<int64_t>()[bad], bad, classes, logits_text,
                                ignore_index);
    });
    return;
  }
#endif
  const int64_t* target = targets64.data<int64_t>();
  const int64_t bad = kernels::cpu::first_invalid_target(target, rows, classes, ignore_index);
  KRAIT_CHECK(bad < 0, bad_target_message(target[bad], bad, classes, logits.describe(), ignore_index));
}

// What the backward needs from the forward besides the logits and the targets.
struct Saved {
  int64_t classes = 0;  // the logits' first columns that are classes
  Tensor lse;          // (N) per-row log-sum-exp: f32 on CUDA, the logits' dtype on the CPU
  double scale = 1.0;  // CPU: the loss's factor, 1 for Sum, 1 / kept rows for Mean (0 when none is kept)
  Tensor kept;         // CUDA, Mean only: the kept-row count, left on the device so that nothing waits for it
};

// The loss (shape []): f32 on CUDA whatever the logits' dtype, the logits' dtype on the CPU. Mean over no
// kept rows is 0, with a zero gradient.
Tensor cross_entropy_forward(const Tensor& logits, const Tensor& targets64, int64_t ignore_index, Reduction reduction,
                             Saved& saved) {
  const int64_t rows = logits.size(0), width = logits.size(1);
#if KRAIT_HAS_CUDA
  if (logits.device().is_cuda()) {
    const cudaStream_t stream = detail::stream_of(logits);
    Tensor row_loss = Tensor::empty({rows}, DType::F32, logits.device());
    saved.lse = Tensor::empty({rows}, DType::F32, logits.device());
    kernels::cuda::cross_entropy_forward(logits.raw_data(), logits.dtype(), targets64.data<int64_t>(),
                                         row_loss.data<float>(), saved.lse.data<float>(), rows, width, saved.classes,
                                         ignore_index, stream);
    Tensor loss = Tensor::empty({}, DType::F32, logits.device());
    Tensor kept = Tensor::empty({}, DType::I64, logits.device());
    kernels::cuda::cross_entropy_reduce(row_loss.data<float>(), targets64.data<int64_t>(), rows, ignore_index,
                                        reduction == Reduction::Mean, loss.data<float>(), kept.data<int64_t>(), stream);
    if (reduction == Reduction::Mean) saved.kept = kept;
    return loss;
  }
#endif
  saved.lse = Tensor::empty({rows}, logits.dtype(), logits.device());
  kernels::cpu::CrossEntropySum total;
  detail::dispatch_float("cross_entropy", logits, [&]<typename T>() {
    total = kernels::cpu::cross_entropy_forward(logits.data<T>(), targets64.data<int64_t>(), saved.lse.data<T>(), rows,
                                                width, saved.classes, ignore_index);
  });
  saved.scale = reduction == Reduction::Sum ? 1.0 : total.kept > 0 ? 1.0 / double(total.kept) : 0.0;
  return Tensor::full({}, total.loss * saved.scale, logits.dtype(), logits.device());
}

// grad_logits (N, width), every element written, from the loss's gradient g. On CUDA g is read on the
// device (as f32) and so is the kept-row count, so the backward does not wait either.
void cross_entropy_backward_into(const Tensor& logits, const Tensor& targets64, const Saved& saved,
                                 int64_t ignore_index, const Tensor& g, const Tensor& grad_logits) {
  const int64_t rows = logits.size(0), width = logits.size(1);
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    const Tensor g32 = g.to(DType::F32);
    kernels::cuda::cross_entropy_backward(logits.raw_data(), logits.dtype(), targets64.data<int64_t>(),
                                          saved.lse.data<float>(), g32.data<float>(),
                                          saved.kept.defined() ? saved.kept.data<int64_t>() : nullptr,
                                          grad_logits.raw_data(), rows, width, saved.classes, ignore_index,
                                          detail::stream_of(g));
    return;
  }
#endif
  detail::dispatch_float("cross_entropy backward", g, [&]<typename T>() {
    kernels::cpu::cross_entropy_backward(logits.data<T>(), targets64.data<int64_t>(), saved.lse.data<T>(),
                                         T(saved.scale * g.item()), grad_logits.data<T>(), rows, width, saved.classes,
                                         ignore_index);
  });
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Reduction reduction,
                     int64_t classes) {
  detail::check_float_inputs("cross_entropy", {&logits});
  detail::check_dim("cross_entropy", "logits", logits, 2);
  const int64_t rows = logits.size(0), width = logits.size(1);
  KRAIT_CHECK(width > 0, "cross_entropy: logits ", logits.describe(), " have no classes");
  KRAIT_CHECK(classes >= 0 && classes <= width, "cross_entropy: classes = ", classes, " for logits ",
              logits.describe(), "; expected 0 (every column) up to ", width);
  KRAIT_CHECK(targets.dtype() == DType::I32 || targets.dtype() == DType::I64,
              "cross_entropy: targets must be i32 or i64, got ", targets.describe());
  detail::check_shape("cross_entropy", "targets", targets, {rows});
  KRAIT_CHECK(targets.device() == logits.device(), "cross_entropy: targets ", targets.describe(), " and logits ",
              logits.describe(), " are on different devices");
  const Tensor targets64 = targets.to(DType::I64);  // the kernels take one index type; i32 is widened
  Saved saved;
  saved.classes = classes > 0 ? classes : width;
  check_targets(logits, targets64, saved.classes, ignore_index);
  Tensor loss = cross_entropy_forward(logits, targets64, ignore_index, reduction, saved);
  if (needs_record({logits})) {
    const Tensor sl = logits.detach();
    record("cross_entropy", {logits}, loss, [sl, targets64, saved, ignore_index](const Tensor& g) -> TensorList {
      Tensor gl = Tensor::empty(sl.shape(), sl.dtype(), sl.device());
      cross_entropy_backward_into(sl, targets64, saved, ignore_index, g, gl);
      return {gl};
    });
  }
  return loss;
}

}  // namespace krait::ops
