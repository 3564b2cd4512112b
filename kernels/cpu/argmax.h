// kernels/cpu/argmax.h — the index of each row's largest value on the host (greedy decoding).
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// x (rows, stride): out[r] = the least c < width with x[r, c] the row's largest among its first
// width values, NaN counting as -infinity.
template <typename T> void argmax_rows(const T* x, int32_t* out, int64_t rows, int64_t stride, int64_t width);

}  // namespace krait::kernels::cpu
