// kernels/cpu/rms_norm.cpp — RMSNorm forward and backward (see rms_norm.h). Row sums accumulate in
// double, so f32 rows of thousands of elements lose no precision there.
//
// With r = rstd, y_i = x_i r w_i and dr/dx_i = -r^3 x_i / D, so for a row
//   dL/dx_i = r (g_i w_i - x_i r^2 / D * sum_j g_j w_j x_j),   dL/dw_i = sum over rows of g_i x_i r.
#include "kernels/cpu/rms_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {

template <typename T>
void rms_norm_forward(const T* x, const T* weight, T eps, T* y, T* rstd, int64_t rows, int64_t dim) {
  parallel_for(rows, 3 * dim, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = x + r * dim;
      double squares = 0;
      for (int64_t i = 0; i < dim; ++i) squares += double(xr[i]) * xr[i];
      const T s = T(1.0 / std::sqrt(squares / double(dim) + double(eps)));
      rstd[r] = s;
      for (int64_t i = 0; i < dim; ++i) y[r * dim + i] = xr[i] * s * weight[i];
    }
  });
}

template <typename T>
void rms_norm_backward(const T* x, const T* weight, const T* rstd, const T* grad_y, T* grad_x, T* grad_weight,
                       int64_t rows, int64_t dim) {
  if (grad_x) {
    parallel_for(rows, 4 * dim, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const T *xr = x + r * dim, *gr = grad_y + r * dim;
        double dot = 0;
        for (int64_t i = 0; i < dim; ++i) dot += double(gr[i]) * weight[i] * xr[i];
        const T s = rstd[r], c = T(double(s) * s * dot / double(dim));
        for (int64_t i = 0; i < dim; ++i) grad_x[r * dim + i] = s * (gr[i] * weight[i] - xr[i] * c);
      }
    });
  }
  if (grad_weight) {
    // Threads split the columns; each sums its columns over all rows in row order.
    parallel_for(dim, 2 * rows, [&](int64_t c0, int64_t c1) {
      std::vector<double> sums(c1 - c0, 0.0);
      for (int64_t r = 0; r < rows; ++r) {
        const T *xr = x + r * dim, *gr = grad_y + r * dim;
        for (int64_t c = c0; c < c1; ++c) sums[c - c0] += double(gr[c]) * xr[c] * rstd[r];
      }
      std::copy(sums.begin(), sums.end(), grad_weight + c0);
    });
  }
}

template void rms_norm_forward<float>(const float*, const float*, float, float*, float*, int64_t, int64_t);
template void rms_norm_forward<double>(const double*, const double*, double, double*, double*, int64_t, int64_t);
template void rms_norm_backward<float>(const float*, const float*, const float*, const float*, float*, float*,
                                       int64_t, int64_t);
template void rms_norm_backward<double>(const double*, const double*, const double*, const double*, double*,
                                        double*, int64_t, int64_t);

}  // namespace krait::kernels::cpu
