// kernels/cpu/pool.cpp — sequence pooling (see pool.h).
#include "kernels/cpu/pool.h"

#include <algorithm>

namespace krait::kernels::cpu {
namespace {
int64_t length_of(const int32_t* lengths, int64_t b, int64_t len) { return lengths ? int64_t(lengths[b]) : len; }
}  // namespace

int64_t first_invalid_length(const int32_t* lengths, int64_t batch, int64_t len) {
  if (lengths == nullptr) return -1;
  for (int64_t b = 0; b < batch; ++b)
    if (lengths[b] < 1 || lengths[b] > len) return b;
  return -1;
}

template <typename T>
void pool_forward(PoolKind kind, const T* x, const int32_t* lengths, T* y, int64_t batch, int64_t len, int64_t dim) {
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t n = length_of(lengths, b, len);
    const T* xb = x + b * len * dim;
    T* yb = y + b * dim;
    if (kind == PoolKind::Last) {
      std::copy(xb + (n - 1) * dim, xb + n * dim, yb);
      continue;
    }
    std::fill(yb, yb + dim, T(0));
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < dim; ++i) yb[i] += xb[t * dim + i];
    for (int64_t i = 0; i < dim; ++i) yb[i] /= T(n);
  }
}

template <typename T>
void pool_backward(PoolKind kind, const T* grad_y, const int32_t* lengths, T* grad_x, int64_t batch, int64_t len,
                   int64_t dim) {
  std::fill(grad_x, grad_x + batch * len * dim, T(0));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t n = length_of(lengths, b, len);
    const T* gy = grad_y + b * dim;
    T* gx = grad_x + b * len * dim;
    if (kind == PoolKind::Last) {
      std::copy(gy, gy + dim, gx + (n - 1) * dim);
      continue;
    }
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < dim; ++i) gx[t * dim + i] = gy[i] / T(n);
  }
}

template void pool_forward<float>(PoolKind, const float*, const int32_t*, float*, int64_t, int64_t, int64_t);
template void pool_forward<double>(PoolKind, const double*, const int32_t*, double*, int64_t, int64_t, int64_t);
template void pool_backward<float>(PoolKind, const float*, const int32_t*, float*, int64_t, int64_t, int64_t);
template void pool_backward<double>(PoolKind, const double*, const int32_t*, double*, int64_t, int64_t, int64_t);

}  // namespace krait::kernels::cpu
