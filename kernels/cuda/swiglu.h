// kernels/cuda/swiglu.h — SwiGLU's gate on the device, the CUDA side of kernels/cpu/swiglu.h: x (rows, 2F)
// holds a gate half a and a value half b per row, y (rows, F) = silu(a) * b. Buffers are f32 or bf16
// (`type`); arithmetic is in f32.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

void swiglu_forward(const void* x, void* y, DType type, int64_t rows, int64_t features, cudaStream_t stream);

// grad_x (rows, 2F) from x and grad_y (rows, F), as cpu::swiglu_backward.
void swiglu_backward(const void* x, const void* grad_y, void* grad_x, DType type, int64_t rows, int64_t features,
                     cudaStream_t stream);

}  // namespace krait::kernels::cuda
