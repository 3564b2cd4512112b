// kernels/cpu/conv1d.cpp — depthwise causal convolution forward and backward (see conv1d.h).
// Tap k links x[s] to out[s + (width-1) - k]; the loops clip k or t to the taps that stay inside
// [0, length) instead of padding.
#include "kernels/cpu/conv1d.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {

template <typename T>
void causal_conv1d_forward(const T* x, const T* weight, const T* bias, T* out, int64_t batch, int64_t channels,
                           int64_t length, int64_t width) {
  parallel_for(batch * channels, length * width, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t c = row % channels;
      const T *xr = x + row * length, *w = weight + c * width;
      for (int64_t t = 0; t < length; ++t) {
        T acc = bias ? bias[c] : T(0);
        for (int64_t k = std::max<int64_t>(0, width - 1 - t); k < width; ++k) acc += w[k] * xr[t - (width - 1) + k];
        out[row * length + t] = acc;
      }
    }
  });
}

template <typename T>
void causal_conv1d_backward(const T* x, const T* weight, const T* grad_out, T* grad_x, T* grad_weight, T* grad_bias,
                            int64_t batch, int64_t channels, int64_t length, int64_t width) {
  // Threads split the channels: every gradient element belongs to exactly one channel.
  parallel_for(channels, 3 * batch * length * width, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      if (grad_bias) {
        double sum = 0;
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t t = 0; t < length; ++t) sum += grad_out[(b * channels + c) * length + t];
        grad_bias[c] = T(sum);
      }
      if (grad_weight) {
        for (int64_t k = 0; k < width; ++k) {
          double sum = 0;
          for (int64_t b = 0; b < batch; ++b) {
            const T *g = grad_out + (b * channels + c) * length, *xr = x + (b * channels + c) * length;
            for (int64_t t = std::max<int64_t>(0, width - 1 - k); t < length; ++t)
              sum += double(g[t]) * xr[t - (width - 1) + k];
          }
          grad_weight[c * width + k] = T(sum);
        }
      }
      if (grad_x) {
        const T* w = weight + c * width;
        for (int64_t b = 0; b < batch; ++b) {
          const T* g = grad_out + (b * channels + c) * length;
          T* gx = grad_x + (b * channels + c) * length;
          for (int64_t s = 0; s < length; ++s) {
            T acc = T(0);
            for (int64_t k = std::max<int64_t>(0, s + width - length); k < width; ++k)
              acc += w[k] * g[s + (width - 1) - k];
            gx[s] = acc;
          }
        }
      }
    }
  });
}

template <typename T>
void causal_conv1d_step(const T* x, int64_t x_stride, T* window, const T* weight, const T* bias, bool silu, T* out,
                        int64_t batch, int64_t channels, int64_t width) {
  const int64_t kept = width - 1;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c) {
      T* past = window + (b * channels + c) * kept;
      const T* w = weight + c * width;
      const T now = x[b * x_stride + c];
      T acc = bias ? bias[c] : T(0);
      for (int64_t k = 0; k < kept; ++k) acc += w[k] * past[k];
      acc += w[kept] * now;
      for (int64_t k = 0; k + 1 < kept; ++k) past[k] = past[k + 1];
      if (kept > 0) past[kept - 1] = now;
      out[b * channels + c] = silu ? acc / (T(1) + std::exp(-acc)) : acc;
    }
}

template void causal_conv1d_forward<float>(const float*, const float*, const float*, float*, int64_t, int64_t,
                                           int64_t, int64_t);
template void causal_conv1d_forward<double>(const double*, const double*, const double*, double*, int64_t, int64_t,
                                            int64_t, int64_t);
template void causal_conv1d_backward<float>(const float*, const float*, const float*, float*, float*, float*, int64_t,
                                            int64_t, int64_t, int64_t);
template void causal_conv1d_backward<double>(const double*, const double*, const double*, double*, double*, double*,
                                             int64_t, int64_t, int64_t, int64_t);
template void causal_conv1d_step<float>(const float*, int64_t, float*, const float*, const float*, bool, float*,
                                        int64_t, int64_t, int64_t);
template void causal_conv1d_step<double>(const double*, int64_t, double*, const double*, const double*, bool, double*,
                                         int64_t, int64_t, int64_t);

}  // namespace krait::kernels::cpu
