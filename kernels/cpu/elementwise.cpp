// kernels/cpu/elementwise.cpp — pointwise kernels (see elementwise.h).
#include "kernels/cpu/elementwise.h"

#include <cmath>

namespace krait::kernels::cpu {
namespace {
template <typename T> T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }
}  // namespace

template <typename T> void silu_forward(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * sigmoid(x[i]);
}
template <typename T> void silu_backward(const T* x, const T* gy, T* gx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T s = sigmoid(x[i]);
    gx[i] = gy[i] * s * (T(1) + x[i] * (T(1) - s));
  }
}
template <typename T> void softplus_forward(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(kSoftplusThreshold) ? x[i] : std::log1p(std::exp(x[i]));
}
template <typename T> void softplus_backward(const T* x, const T* gy, T* gx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gx[i] = x[i] > T(kSoftplusThreshold) ? gy[i] : gy[i] * sigmoid(x[i]);
}
template <typename T> void sigmoid_forward(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
}
template <typename T> void sigmoid_backward(const T* y, const T* gy, T* gx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * y[i] * (T(1) - y[i]);
}
template <typename T> void exp_forward(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
template <typename T> void mul_forward(const T* a, const T* b, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}
template <typename T> void scale(const T* x, T alpha, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
}
template <typename T> void add(const T* a, const T* b, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}
template <typename T> void add_broadcast(const T* a, const T* b, T* y, int64_t outer, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) y[o * inner + i] = a[o * inner + i] + b[i];
}
template <typename T> void mul_broadcast(const T* a, const T* b, T* y, int64_t outer, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) y[o * inner + i] = a[o * inner + i] * b[i];
}
template <typename T> void sum_outer(const T* x, T* out, int64_t outer, int64_t inner) {
  for (int64_t i = 0; i < inner; ++i) out[i] = T(0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) out[i] += x[o * inner + i];
}
template <typename T> void sum_outer_product(const T* x, const T* w, T* out, int64_t outer, int64_t inner) {
  for (int64_t i = 0; i < inner; ++i) out[i] = T(0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) out[i] += x[o * inner + i] * w[o * inner + i];
}

#define KRAIT_INSTANTIATE(T)                                                          \
  template void silu_forward<T>(const T*, T*, int64_t);                               \
  template void silu_backward<T>(const T*, const T*, T*, int64_t);                   \
  template void softplus_forward<T>(const T*, T*, int64_t);                           \
  template void softplus_backward<T>(const T*, const T*, T*, int64_t);                \
  template void sigmoid_forward<T>(const T*, T*, int64_t);                            \
  template void sigmoid_backward<T>(const T*, const T*, T*, int64_t);                 \
  template void exp_forward<T>(const T*, T*, int64_t);                                \
  template void mul_forward<T>(const T*, const T*, T*, int64_t);                      \
  template void scale<T>(const T*, T, T*, int64_t);                                   \
  template void add<T>(const T*, const T*, T*, int64_t);                              \
  template void add_broadcast<T>(const T*, const T*, T*, int64_t, int64_t);           \
  template void mul_broadcast<T>(const T*, const T*, T*, int64_t, int64_t);           \
  template void sum_outer<T>(const T*, T*, int64_t, int64_t);                         \
  template void sum_outer_product<T>(const T*, const T*, T*, int64_t, int64_t);
KRAIT_INSTANTIATE(float)
KRAIT_INSTANTIATE(double)
#undef KRAIT_INSTANTIATE

}  // namespace krait::kernels::cpu
