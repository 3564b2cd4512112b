// autograd/ops/cross_entropy.cpp — mean or summed softmax cross-entropy with ignored rows. Forward
// saves the logits and the per-row log-sum-exp; backward recomputes the softmax from them, so no
// (N, V) probability copy stays alive between forward and backward.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/cross_entropy.h"

namespace krait::ops {

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
