// kernels/cpu/layout.cpp — axis swaps and block copies (see layout.h).
#include "kernels/cpu/layout.h"

#include <cstring>

namespace krait::kernels::cpu {

void swap_axes(const void* src, void* dst, size_t elem_size, int64_t outer, int64_t d0, int64_t mid, int64_t d1,
               int64_t inner) {
  const auto* s = static_cast<const char*>(src);
  auto* d = static_cast<char*>(dst);
  const size_t row = inner * elem_size;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < d0; ++i)
      for (int64_t m = 0; m < mid; ++m)
        for (int64_t j = 0; j < d1; ++j) {
          const int64_t from = (((o * d0 + i) * mid + m) * d1 + j);
          const int64_t to = (((o * d1 + j) * mid + m) * d0 + i);
          std::memcpy(d + to * row, s + from * row, row);
        }
}

void copy_block(const void* src, int64_t src_dim, int64_t start, void* dst, int64_t dst_dim, int64_t dst_start,
                int64_t len, size_t elem_size, int64_t outer, int64_t inner) {
  const auto* s = static_cast<const char*>(src);
  auto* d = static_cast<char*>(dst);
  const size_t row = inner * elem_size;
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(d + (o * dst_dim + dst_start) * row, s + (o * src_dim + start) * row, len * row);
}

}  // namespace krait::kernels::cpu
