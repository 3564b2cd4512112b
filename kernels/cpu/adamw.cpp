// kernels/cpu/adamw.cpp — the fused AdamW update, sum of squares and in-place scaling (see adamw.h).
#include "kernels/cpu/adamw.h"

#include <cmath>

namespace krait::kernels::cpu {

namespace {
// torch's lerp: the form that loses least precision on the side of the weight.
template <typename T> T lerp(T a, T b, T w) {
  return std::abs(w) < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}
}  // namespace

template <typename T> void adamw_step(T* p, const T* g, T* m, T* v, int64_t n, const AdamWHyper& h) {
  const double t = static_cast<double>(h.step);
  const T decay = static_cast<T>(1.0 - h.lr * h.weight_decay);
  const T m_weight = static_cast<T>(1.0 - h.beta1);
  const T beta2 = static_cast<T>(h.beta2);
  const T v_weight = static_cast<T>(1.0 - h.beta2);
  const T neg_step_size = static_cast<T>(-h.lr / (1.0 - std::pow(h.beta1, t)));
  const T bias_correction2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(h.beta2, t)));
  const T eps = static_cast<T>(h.eps);
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    m[i] = lerp(m[i], gi, m_weight);
    v[i] = v[i] * beta2 + v_weight * gi * gi;
    const T denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps;
    p[i] = p[i] * decay + neg_step_size * (m[i] / denom);
  }
}

template <typename T> double sum_squares(const T* x, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double xi = static_cast<double>(x[i]);
    sum += xi * xi;
  }
  return sum;
}

template <typename T> void scale_inplace(T* x, T alpha, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

template void adamw_step<float>(float*, const float*, float*, float*, int64_t, const AdamWHyper&);
template void adamw_step<double>(double*, const double*, double*, double*, int64_t, const AdamWHyper&);
template double sum_squares<float>(const float*, int64_t);
template double sum_squares<double>(const double*, int64_t);
template void scale_inplace<float>(float*, float, int64_t);
template void scale_inplace<double>(double*, double, int64_t);

}  // namespace krait::kernels::cpu
