// kernels/cpu/adamw.h — host kernels for the optimizer: the fused AdamW update of one flat buffer,
// the sum of squares of a buffer (accumulated in double) and in-place scaling.
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// Hyperparameters of one AdamW update. step is the 1-based count of updates this buffer has now
// received (the t of the bias corrections).
struct AdamWHyper {
  double lr;
  double beta1;
  double beta2;
  double eps;
  double weight_decay;
  int64_t step;
};

// One AdamW update of n elements in place, as torch.optim.AdamW (single-tensor path) does it:
//   p <- p * (1 - lr * wd)                          decoupled decay, before the Adam step
//   m <- lerp(m, g, 1 - beta1)                      = beta1 * m + (1 - beta1) * g
//   v <- beta2 * v + (1 - beta2) * g * g
//   p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The scalar factors are computed in double and rounded to T; the per-element arithmetic is in T,
// grouped as above (lerp as torch's: a + w (b - a) for |w| < 0.5, else b - (b - a)(1 - w)).
template <typename T> void adamw_step(T* p, const T* g, T* m, T* v, int64_t n, const AdamWHyper& h);

// The sum of x[i]^2 over n elements, each square and the running sum in double.
template <typename T> double sum_squares(const T* x, int64_t n);

// x[i] *= alpha for n elements.
template <typename T> void scale_inplace(T* x, T alpha, int64_t n);

}  // namespace krait::kernels::cpu
