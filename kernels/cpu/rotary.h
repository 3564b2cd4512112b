// kernels/cpu/rotary.h — rotary position embedding on the host (Su et al.; GPT-NeoX's half-split
// layout) over a fused attention projection (batch, seq, 3 * n_head * head_dim): the n_head query
// heads, then the key heads, then the value heads. Each query and key head of position t rotates
// its pairs (x[i], x[i + head_dim/2]) by the angle t * inv_freq(i); the value heads are copied.
#pragma once

#include <cmath>
#include <cstdint>

namespace krait::kernels::cpu {

// theta^(-2i / head_dim), evaluated in double as exp2(-(2i / head_dim) log2 theta). The CUDA kernel
// evaluates the same expression and rounds it to float, as the float kernel here does; the angle is
// then T(t) * T(inv_freq) in T (fp32 for f32 and bf16 storage, the usual convention).
inline double rotary_inv_freq(int64_t i, int64_t head_dim, double theta) {
  return std::exp2(-(2.0 * static_cast<double>(i) / static_cast<double>(head_dim)) * std::log2(theta));
}

// y = the rotated x; x and y (batch, seq, 3 * n_head * head_dim), head_dim even.
template <typename T>
void rotary_forward(const T* x, T* y, int64_t batch, int64_t seq, int64_t n_head, int64_t head_dim, double theta);

// The gradient: grad_y rotated back (the inverse rotation, as the rotation is orthogonal); the value
// heads' gradient is copied. Needs no saved input.
template <typename T>
void rotary_backward(const T* grad_y, T* grad_x, int64_t batch, int64_t seq, int64_t n_head, int64_t head_dim,
                     double theta);

}  // namespace krait::kernels::cpu
