// kernels/cuda/argmax.h — the index of each row's largest value on the device (greedy decoding without
// copying the logits to the host); the CUDA side of kernels/cpu/argmax.h. x is f32 or bf16 (`type`).
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

// As cpu::argmax_rows; out (rows) i32 on the device. Deterministic (ties go to the lower index).
void argmax_rows(const void* x, DType type, int32_t* out, int64_t rows, int64_t stride, int64_t width,
                 cudaStream_t stream);

}  // namespace krait::kernels::cuda
