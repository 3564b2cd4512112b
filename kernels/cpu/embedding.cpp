// kernels/cpu/embedding.cpp — embedding gather and scatter-add (see embedding.h).
#include "kernels/cpu/embedding.h"

#include <algorithm>

#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {

int64_t first_invalid_id(const int64_t* ids, int64_t n, int64_t vocab) {
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= vocab) return i;
  return -1;
}

template <typename T> void embedding_forward(const T* weight, const int64_t* ids, T* out, int64_t n, int64_t dim) {
  parallel_for(n, dim, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) std::copy_n(weight + ids[i] * dim, dim, out + i * dim);
  });
}

template <typename T>
void embedding_backward(const T* grad_out, const int64_t* ids, T* grad_weight, int64_t n, int64_t vocab, int64_t dim) {
  // Threads split the columns, so each gradient element is summed by one thread in position order.
  parallel_for(dim, n + vocab, [&](int64_t c0, int64_t c1) {
    for (int64_t row = 0; row < vocab; ++row)
      std::fill(grad_weight + row * dim + c0, grad_weight + row * dim + c1, T(0));
    for (int64_t i = 0; i < n; ++i) {
      T* dst = grad_weight + ids[i] * dim;
      const T* src = grad_out + i * dim;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
}

template void embedding_forward<float>(const float*, const int64_t*, float*, int64_t, int64_t);
template void embedding_forward<double>(const double*, const int64_t*, double*, int64_t, int64_t);
template void embedding_backward<float>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t);
template void embedding_backward<double>(const double*, const int64_t*, double*, int64_t, int64_t, int64_t);

}  // namespace krait::kernels::cpu
