// kernels/cpu/layout.h — dtype-agnostic copies that rearrange memory: swapping two axes and
// copying a slice along one axis (and its inverse, writing a block into a larger tensor).
#pragma once

#include <cstddef>
#include <cstdint>

namespace krait::kernels::cpu {

// src viewed as (outer, d0, mid, d1, inner) is written to dst as (outer, d1, mid, d0, inner).
void swap_axes(const void* src, void* dst, size_t elem_size, int64_t outer, int64_t d0, int64_t mid, int64_t d1,
               int64_t inner);

// src viewed as (outer, src_dim, inner): rows [start, start + len) of the middle axis go to
// dst viewed as (outer, dst_dim, inner) at rows [dst_start, dst_start + len).
void copy_block(const void* src, int64_t src_dim, int64_t start, void* dst, int64_t dst_dim, int64_t dst_start,
                int64_t len, size_t elem_size, int64_t outer, int64_t inner);

}  // namespace krait::kernels::cpu
