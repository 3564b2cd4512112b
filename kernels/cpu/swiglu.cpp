// kernels/cpu/swiglu.cpp — SwiGLU's gate (see swiglu.h).
#include "kernels/cpu/swiglu.h"

#include <cmath>

#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {
namespace {
template <typename T> T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }
}  // namespace

template <typename T> void swiglu_forward(const T* x, T* y, int64_t rows, int64_t features) {
  parallel_for(rows, 2 * features, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* a = x + r * 2 * features;
      const T* b = a + features;
      for (int64_t j = 0; j < features; ++j) y[r * features + j] = a[j] * sigmoid(a[j]) * b[j];
    }
  });
}

template <typename T>
void swiglu_backward(const T* x, const T* grad_y, T* grad_x, int64_t rows, int64_t features) {
  parallel_for(rows, 2 * features, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* a = x + r * 2 * features;
      const T* b = a + features;
      const T* g = grad_y + r * features;
      T* ga = grad_x + r * 2 * features;
      T* gb = ga + features;
      for (int64_t j = 0; j < features; ++j) {
        const T s = sigmoid(a[j]);
        ga[j] = g[j] * b[j] * s * (T(1) + a[j] * (T(1) - s));
        gb[j] = g[j] * a[j] * s;
      }
    }
  });
}

#define KRAIT_INSTANTIATE(T)                                                  \
  template void swiglu_forward<T>(const T*, T*, int64_t, int64_t);            \
  template void swiglu_backward<T>(const T*, const T*, T*, int64_t, int64_t);
KRAIT_INSTANTIATE(float)
KRAIT_INSTANTIATE(double)
#undef KRAIT_INSTANTIATE

}  // namespace krait::kernels::cpu
