// kernels/cpu/elementwise.h — pointwise forward/backward kernels on the host: SiLU, softplus, exp,
// sigmoid, scaling, and add/mul of a tensor with a trailing-broadcast operand.
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// softplus(x) = log(1 + e^x), taken as x itself above this threshold (as PyTorch and mamba_ssm do).
inline constexpr double kSoftplusThreshold = 20.0;

template <typename T> void silu_forward(const T* x, T* y, int64_t n);
template <typename T> void silu_backward(const T* x, const T* grad_y, T* grad_x, int64_t n);
template <typename T> void softplus_forward(const T* x, T* y, int64_t n);
template <typename T> void softplus_backward(const T* x, const T* grad_y, T* grad_x, int64_t n);
template <typename T> void sigmoid_forward(const T* x, T* y, int64_t n);
template <typename T> void sigmoid_backward(const T* y, const T* grad_y, T* grad_x, int64_t n);
template <typename T> void exp_forward(const T* x, T* y, int64_t n);
template <typename T> void mul_forward(const T* a, const T* b, T* y, int64_t n);  // same-shape product
template <typename T> void scale(const T* x, T alpha, T* y, int64_t n);          // y = alpha * x

// Broadcast: a has outer * inner elements, b has inner elements repeated over outer.
template <typename T> void add_broadcast(const T* a, const T* b, T* y, int64_t outer, int64_t inner);
template <typename T> void mul_broadcast(const T* a, const T* b, T* y, int64_t outer, int64_t inner);
// out[i] = sum over o of x[o * inner + i]: the gradient of a broadcast operand.
template <typename T> void sum_outer(const T* x, T* out, int64_t outer, int64_t inner);
// out[i] = sum over o of x[o * inner + i] * w[o * inner + i]: the gradient of mul_broadcast's b.
template <typename T> void sum_outer_product(const T* x, const T* w, T* out, int64_t outer, int64_t inner);
template <typename T> void add(const T* a, const T* b, T* y, int64_t n);

}  // namespace krait::kernels::cpu
