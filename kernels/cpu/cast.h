// kernels/cpu/cast.h — element type conversion on the host between f32, bf16, f64, i32 and i64.
#pragma once

#include <cstdint>

#include "kernels/dtype.h"

namespace krait::kernels::cpu {

// Converts n elements; float -> bf16 rounds to nearest even, float -> integer truncates.
void cast(const void* src, DType src_type, void* dst, DType dst_type, int64_t n);

}  // namespace krait::kernels::cpu
