// kernels/cpu/argmax.cpp — argmax_rows (see argmax.h).
#include "kernels/cpu/argmax.h"

#include <limits>

namespace krait::kernels::cpu {

template <typename T> void argmax_rows(const T* x, int32_t* out, int64_t rows, int64_t stride, int64_t width) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x + r * stride;
    const auto key = [row](int64_t c) { return row[c] != row[c] ? -std::numeric_limits<T>::infinity() : row[c]; };
    int64_t best = 0;
    for (int64_t c = 1; c < width; ++c)
      if (key(c) > key(best)) best = c;
    out[r] = static_cast<int32_t>(best);
  }
}

template void argmax_rows<float>(const float*, int32_t*, int64_t, int64_t, int64_t);
template void argmax_rows<double>(const double*, int32_t*, int64_t, int64_t, int64_t);

}  // namespace krait::kernels::cpu
