// kernels/cpu/swiglu.h — SwiGLU's gate on the host: each row of x (rows, 2F) is a gate half a and a value
// half b, and y (rows, F) = silu(a) * b; with its gradient.
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

template <typename T> void swiglu_forward(const T* x, T* y, int64_t rows, int64_t features);

// grad_x (rows, 2F): d/da = grad_y * b * silu'(a), d/db = grad_y * silu(a).
template <typename T>
void swiglu_backward(const T* x, const T* grad_y, T* grad_x, int64_t rows, int64_t features);

}  // namespace krait::kernels::cpu
