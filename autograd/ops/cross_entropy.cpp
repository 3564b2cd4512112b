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
// `logits_text` names the logits in the message (the fused head has none to describe).
void check_targets(const Tensor& targets64, int64_t classes, int64_t ignore_index, const std::string& logits_text) {
  const int64_t rows = targets64.numel();
#if KRAIT_HAS_CUDA
  if (targets64.device().is_cuda()) {
    const Tensor first_bad = Tensor::empty({1}, DType::I64, targets64.device());
    kernels::cuda::find_first_invalid_target(targets64.data<int64_t>(), rows, classes, ignore_index,
                                             first_bad.data<int64_t>(), detail::stream_of(targets64));
    cuda::defer_check(first_bad, [targets64, logits_text, classes, ignore_index](int64_t bad) {
      return bad_target_message(targets64.to(Device::cpu()).data<int64_t>()[bad], bad, classes, logits_text,
                                ignore_index);
    });
    return;
  }
#endif
  const int64_t* target = targets64.data<int64_t>();
  const int64_t bad = kernels::cpu::first_invalid_target(target, rows, classes, ignore_index);
  KRAIT_CHECK(bad < 0, bad_target_message(target[bad], bad, classes, logits_text, ignore_index));
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
  check_targets(targets64, saved.classes, ignore_index, logits.describe());
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

namespace krait::ops {
namespace {

// The fused head's work on one chunk of rows, the same kernels cross_entropy runs, on row ranges of
// the whole problem's buffers.
struct HeadChunks {
  Tensor hidden, weight, targets64;  // (N, D), (V, D), (N)
  int64_t classes, ignore_index;
  // What the forward leaves for the backward when it records: the gradients for a loss gradient of 1
  // as a sum (f32 on CUDA).
  Tensor grad_hidden, grad_weight;

  // logits = hidden[start:start+rows] W^T into `logits` (rows, V); their losses and lse into row_loss
  // and lse at `start` (CUDA), or added to `sum` (CPU).
  void forward(int64_t start, int64_t rows, const Tensor& logits, [[maybe_unused]] const Tensor& row_loss,
               const Tensor& lse, kernels::cpu::CrossEntropySum& sum) const {
    const int64_t d = hidden.size(1), width = weight.size(0);
    kernels::cpu::GemmShape s;
    s.m = rows, s.n = width, s.k = d, s.trans_b = true;
    detail::gemm_raw(s, hidden.device(), hidden.dtype(), hidden.dtype(), row_ptr(hidden, start), weight.raw_data(),
                     logits.raw_data());
    const int64_t* t = targets64.data<int64_t>() + start;
#if KRAIT_HAS_CUDA
    if (hidden.device().is_cuda()) {
      kernels::cuda::cross_entropy_forward(logits.raw_data(), logits.dtype(), t, row_loss.data<float>() + start,
                                           lse.data<float>() + start, rows, width, classes, ignore_index,
                                           detail::stream_of(hidden));
      return;
    }
#endif
    detail::dispatch_float("linear_cross_entropy", hidden, [&]<typename T>() {
      const kernels::cpu::CrossEntropySum part = kernels::cpu::cross_entropy_forward(
          logits.data<T>(), t, lse.data<T>() + start, rows, width, classes, ignore_index);
      sum.loss += part.loss, sum.kept += part.kept;
    });
  }

  // The chunk's logit gradients for a summed loss (softmax - onehot) into `grad`, then grad_hidden's
  // rows = grad W and grad_weight += grad^T (the chunk's hidden rows).
  void backward(int64_t start, int64_t rows, const Tensor& logits, const Tensor& lse,
                [[maybe_unused]] const Tensor& one, const Tensor& grad) const {
    const int64_t d = hidden.size(1), width = weight.size(0);
    const int64_t* t = targets64.data<int64_t>() + start;
#if KRAIT_HAS_CUDA
    if (hidden.device().is_cuda()) {
      kernels::cuda::cross_entropy_backward(logits.raw_data(), logits.dtype(), t, lse.data<float>() + start,
                                            one.data<float>(), nullptr, grad.raw_data(), rows, width, classes,
                                            ignore_index, detail::stream_of(hidden));
    } else
#endif
      detail::dispatch_float("linear_cross_entropy backward", hidden, [&]<typename T>() {
        kernels::cpu::cross_entropy_backward(logits.data<T>(), t, lse.data<T>() + start, T(1), grad.data<T>(), rows,
                                             width, classes, ignore_index);
      });
    kernels::cpu::GemmShape s;
    s.m = rows, s.n = d, s.k = width;  // grad (rows, V) W (V, D)
    if (grad_hidden.defined())
      detail::gemm_raw(s, hidden.device(), hidden.dtype(), grad_hidden.dtype(), grad.raw_data(), weight.raw_data(),
                       row_ptr(grad_hidden, start));
    s.m = width, s.n = d, s.k = rows, s.trans_a = true, s.accumulate = true;  // grad^T (V, rows) hidden (rows, D)
    if (grad_weight.defined())
      detail::gemm_raw(s, hidden.device(), hidden.dtype(), grad_weight.dtype(), grad.raw_data(),
                       row_ptr(hidden, start), grad_weight.raw_data());
  }

  static void* row_ptr(const Tensor& t, int64_t row) {
    return static_cast<char*>(t.raw_data()) + row * t.size(1) * int64_t(dtype_size(t.dtype()));
  }
};

}  // namespace

Tensor linear_cross_entropy(const Tensor& hidden, const Tensor& weight, const Tensor& targets, int64_t ignore_index,
                            Reduction reduction, int64_t classes, int64_t chunk_rows) {
  const char* op = "linear_cross_entropy";
  detail::check_float_inputs(op, {&hidden, &weight});
  detail::check_dim(op, "hidden", hidden, 2);
  detail::check_dim(op, "weight", weight, 2);
  const int64_t rows = hidden.size(0), width = weight.size(0);
  KRAIT_CHECK(weight.size(1) == hidden.size(1) && width > 0, op, ": weight ", weight.describe(),
              " must be (classes, ", hidden.size(1), ") for hidden ", hidden.describe());
  KRAIT_CHECK(classes >= 0 && classes <= width, op, ": classes = ", classes, " for weight ", weight.describe(),
              "; expected 0 (every row) up to ", width);
  KRAIT_CHECK(chunk_rows >= 1, op, ": chunk_rows = ", chunk_rows, "; expected at least 1");
  KRAIT_CHECK(targets.dtype() == DType::I32 || targets.dtype() == DType::I64, op,
              ": targets must be i32 or i64, got ", targets.describe());
  detail::check_shape(op, "targets", targets, {rows});
  KRAIT_CHECK(targets.device() == hidden.device(), op, ": targets ", targets.describe(), " and hidden ",
              hidden.describe(), " are on different devices");
  HeadChunks head{hidden, weight, targets.to(DType::I64), classes > 0 ? classes : width, ignore_index, {}, {}};
  std::ostringstream logits_text;
  logits_text << "the logits of hidden " << hidden.describe() << " x weight " << weight.describe() << "^T";
  check_targets(head.targets64, head.classes, ignore_index, logits_text.str());

  const Device device = hidden.device();
  const bool on_cuda = device.is_cuda();
  const bool record_grads = needs_record({hidden, weight});
  const DType grad_type = on_cuda ? DType::F32 : hidden.dtype();  // bf16 products accumulate in f32
  if (record_grads && hidden.requires_grad()) head.grad_hidden = Tensor::empty(hidden.shape(), grad_type, device);
  if (record_grads && weight.requires_grad()) head.grad_weight = Tensor::zeros(weight.shape(), grad_type, device);
  const Tensor row_loss = on_cuda ? Tensor::empty({rows}, DType::F32, device) : Tensor();
  const Tensor lse = Tensor::empty({rows}, on_cuda ? DType::F32 : hidden.dtype(), device);
  const Tensor one = on_cuda && record_grads ? Tensor::full({}, 1.0, DType::F32, device) : Tensor();
  const int64_t chunk = std::min(chunk_rows, std::max<int64_t>(rows, 1));
  const Tensor logits = Tensor::empty({chunk, width}, hidden.dtype(), device);
  const Tensor grad = record_grads ? Tensor::empty({chunk, width}, hidden.dtype(), device) : Tensor();
  kernels::cpu::CrossEntropySum sum;
  for (int64_t start = 0; start < rows; start += chunk) {
    const int64_t n = std::min(chunk, rows - start);
    head.forward(start, n, logits, row_loss, lse, sum);
    if (record_grads) head.backward(start, n, logits, lse, one, grad);
  }

  Tensor loss, kept;  // kept: CUDA, the kept-row count on the device
  double scale = 1.0;  // CPU: the mean's 1 / kept
#if KRAIT_HAS_CUDA
  if (on_cuda) {
    loss = Tensor::empty({}, DType::F32, device);
    kept = Tensor::empty({}, DType::I64, device);
    kernels::cuda::cross_entropy_reduce(row_loss.data<float>(), head.targets64.data<int64_t>(), rows, ignore_index,
                                        reduction == Reduction::Mean, loss.data<float>(), kept.data<int64_t>(),
                                        detail::stream_of(hidden));
  }
#endif
  if (!on_cuda) {
    scale = reduction == Reduction::Sum ? 1.0 : sum.kept > 0 ? 1.0 / double(sum.kept) : 0.0;
    loss = Tensor::full({}, sum.loss * scale, hidden.dtype(), device);
  }
  if (record_grads) {
    const bool mean = reduction == Reduction::Mean;
    record(op, {hidden, weight}, loss,
           [head, kept, scale, mean, hidden_type = hidden.dtype()](const Tensor& g) -> TensorList {
             // The one wait of the op: the loss gradient and the kept count, read on the host.
             double factor = g.item() * scale;
             if (mean && kept.defined()) {
               const double n = kept.item();
               factor = n > 0 ? factor / n : 0.0;
             }
             TensorList grads(2);
             if (head.grad_hidden.defined()) grads[0] = ops::scale(head.grad_hidden, factor).to(hidden_type);
             if (head.grad_weight.defined()) grads[1] = ops::scale(head.grad_weight, factor).to(hidden_type);
             return grads;
           });
  }
  return loss;
}

}  // namespace krait::ops
