// kernels/cuda/cast.h — element type conversion on the device between f32, bf16, f64, i32, i64.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

// Converts n elements on `stream`; float -> bf16 rounds to nearest even (as the CPU cast does).
void cast(const void* src, DType src_type, void* dst, DType dst_type, int64_t n, cudaStream_t stream);

}  // namespace krait::kernels::cuda
