// kernels/cuda/rotary.h — rotary position embedding on the device, the CUDA side of
// kernels/cpu/rotary.h: a fused (batch, seq, 3 * n_head * head_dim) projection whose query and key
// heads rotate their pairs (x[i], x[i + head_dim/2]) by t * inv_freq(i) and whose value heads are
// copied. Buffers are f32 or bf16 (`type`); cos and sin come from sincosf of the fp32 angle
// float(t) * float(inv_freq), computed in the kernel (no table), with inv_freq as
// cpu::rotary_inv_freq.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

// y = x rotated (cpu::rotary_forward); head_dim even.
void rotary_forward(const void* x, void* y, DType type, int64_t batch, int64_t seq, int64_t n_head, int64_t head_dim,
                    double theta, cudaStream_t stream);

// grad_x = grad_y rotated back (cpu::rotary_backward).
void rotary_backward(const void* grad_y, void* grad_x, DType type, int64_t batch, int64_t seq, int64_t n_head,
                     int64_t head_dim, double theta, cudaStream_t stream);

}  // namespace krait::kernels::cuda
