// kernels/cpu/rotary.cpp — rotary position embedding (see rotary.h).
#include "kernels/cpu/rotary.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {
namespace {

// Rotates every query and key pair of each row by +angle (sign 1, forward) or -angle (sign -1, the
// gradient), copying the value heads.
template <typename T>
void rotate(const T* in, T* out, int64_t batch, int64_t seq, int64_t n_head, int64_t head_dim, double theta,
            T sign) {
  const int64_t half = head_dim / 2, width = 3 * n_head * head_dim, qk = 2 * n_head * head_dim;
  std::vector<T> inv_freq(half);
  for (int64_t i = 0; i < half; ++i) inv_freq[i] = T(rotary_inv_freq(i, head_dim, theta));
  parallel_for(batch * seq, width, [&](int64_t begin, int64_t end) {
    std::vector<T> cos_t(half), sin_t(half);
    for (int64_t row = begin; row < end; ++row) {
      const T t = T(row % seq);
      for (int64_t i = 0; i < half; ++i) {
        const T angle = t * inv_freq[i];
        cos_t[i] = std::cos(angle);
        sin_t[i] = sign * std::sin(angle);
      }
      const T* src = in + row * width;
      T* dst = out + row * width;
      for (int64_t head = 0; head < 2 * n_head; ++head) {
        const T* a = src + head * head_dim;
        T* o = dst + head * head_dim;
        for (int64_t i = 0; i < half; ++i) {
          const T x0 = a[i], x1 = a[i + half];
          o[i] = x0 * cos_t[i] - x1 * sin_t[i];
          o[i + half] = x0 * sin_t[i] + x1 * cos_t[i];
        }
      }
      std::copy(src + qk, src + width, dst + qk);
    }
  });
}

}  // namespace

template <typename T>
void rotary_forward(const T* x, T* y, int64_t batch, int64_t seq, int64_t n_head, int64_t head_dim, double theta) {
  rotate(x, y, batch, seq, n_head, head_dim, theta, T(1));
}

template <typename T>
void rotary_backward(const T* grad_y, T* grad_x, int64_t batch, int64_t seq, int64_t n_head, int64_t head_dim,
                     double theta) {
  rotate(grad_y, grad_x, batch, seq, n_head, head_dim, theta, T(-1));
}

#define KRAIT_INSTANTIATE(T)                                                                        \
  template void rotary_forward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, double);        \
  template void rotary_backward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, double);
KRAIT_INSTANTIATE(float)
KRAIT_INSTANTIATE(double)
#undef KRAIT_INSTANTIATE

}  // namespace krait::kernels::cpu
