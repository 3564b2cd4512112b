// kernels/cuda/reduce.h — sums along one axis on the device, the CUDA side of kernels/cpu/reduce.h, and
// their gradient, the broadcast back along the axis. x is viewed as (outer, dim, inner); buffers are f32
// or bf16 (`type`, the same for input and output); sums accumulate in f32 and are deterministic: each
// block sums a fixed slice of rows in a fixed tree order and slices are added in order (no float
// atomics), so the result depends only on the shape, never on timing or the device.
//
// The length-limited forms serve masked means (sequence pooling): row o of the outer axis counts only
// its first n_o = lengths[o] positions along dim (lengths i32 on the device, clamped to [1, dim] so the
// kernels stay in bounds whatever they hold; callers validate them).
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

// Scratch for sum_axis and mean_axis_prefix: at most about 128 KiB (0 when a single pass suffices).
size_t sum_axis_workspace_bytes(int64_t outer, int64_t dim, int64_t inner);

// y[o, i] = scale * sum over d < dim of x[o, d, i]; y is (outer, inner). workspace may be null when
// sum_axis_workspace_bytes is 0.
void sum_axis(const void* x, void* y, DType type, int64_t outer, int64_t dim, int64_t inner, float scale,
              void* workspace, cudaStream_t stream);
// grad_x[o, d, i] = scale * grad_y[o, i].
void expand_axis(const void* grad_y, void* grad_x, DType type, int64_t outer, int64_t dim, int64_t inner, float scale,
                 cudaStream_t stream);

// y[o, i] = (1 / n_o) * sum over d < n_o of x[o, d, i].
void mean_axis_prefix(const void* x, const int32_t* lengths, void* y, DType type, int64_t outer, int64_t dim,
                      int64_t inner, void* workspace, cudaStream_t stream);
// grad_x[o, d, i] = grad_y[o, i] / n_o for d < n_o, 0 beyond (every element of grad_x is written).
void expand_axis_prefix(const void* grad_y, const int32_t* lengths, void* grad_x, DType type, int64_t outer,
                        int64_t dim, int64_t inner, cudaStream_t stream);

}  // namespace krait::kernels::cuda
