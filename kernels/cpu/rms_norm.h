// kernels/cpu/rms_norm.h — RMSNorm on the host: y = x * rstd * weight with rstd = 1 / sqrt(mean(x^2) + eps)
// per row, and its gradient.
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// x, y (rows, dim), weight (dim); writes y and the per-row rstd (rows).
template <typename T>
void rms_norm_forward(const T* x, const T* weight, T eps, T* y, T* rstd, int64_t rows, int64_t dim);

// From x, the forward's rstd and grad_y: grad_x (rows, dim), which needs weight, and grad_weight (dim),
// summed over rows in row order. A null grad_x or grad_weight is skipped (weight may then be null).
template <typename T>
void rms_norm_backward(const T* x, const T* weight, const T* rstd, const T* grad_y, T* grad_x, T* grad_weight,
                       int64_t rows, int64_t dim);

}  // namespace krait::kernels::cpu
