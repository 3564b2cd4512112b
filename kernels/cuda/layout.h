// kernels/cuda/layout.h — the device side of kernels/cpu/layout.h: swapping two axes and copying a
// block of rows along one axis, for any element size.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

namespace krait::kernels::cuda {

// src viewed as (outer, d0, mid, d1, inner) is written to dst as (outer, d1, mid, d0, inner).
void swap_axes(const void* src, void* dst, size_t elem_size, int64_t outer, int64_t d0, int64_t mid, int64_t d1,
               int64_t inner, cudaStream_t stream);

// Rows [start, start + len) of src (outer, src_dim, inner) go to rows [dst_start, ...) of dst (outer, dst_dim, inner).
void copy_block(const void* src, int64_t src_dim, int64_t start, void* dst, int64_t dst_dim, int64_t dst_start,
                int64_t len, size_t elem_size, int64_t outer, int64_t inner, cudaStream_t stream);

}  // namespace krait::kernels::cuda
