// kernels/cpu/reduce.cpp — axis sums (see reduce.h).
#include "kernels/cpu/reduce.h"

namespace krait::kernels::cpu {

template <typename T> void sum_axis(const T* x, T* y, int64_t outer, int64_t dim, int64_t inner, T scale) {
  for (int64_t o = 0; o < outer; ++o) {
    T* yo = y + o * inner;
    for (int64_t i = 0; i < inner; ++i) yo[i] = T(0);
    for (int64_t d = 0; d < dim; ++d) {
      const T* xd = x + (o * dim + d) * inner;
      for (int64_t i = 0; i < inner; ++i) yo[i] += xd[i];
    }
    for (int64_t i = 0; i < inner; ++i) yo[i] *= scale;
  }
}

template <typename T> void expand_axis(const T* gy, T* gx, int64_t outer, int64_t dim, int64_t inner, T scale) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t d = 0; d < dim; ++d)
      for (int64_t i = 0; i < inner; ++i) gx[(o * dim + d) * inner + i] = scale * gy[o * inner + i];
}

template void sum_axis<float>(const float*, float*, int64_t, int64_t, int64_t, float);
template void sum_axis<double>(const double*, double*, int64_t, int64_t, int64_t, double);
template void expand_axis<float>(const float*, float*, int64_t, int64_t, int64_t, float);
template void expand_axis<double>(const double*, double*, int64_t, int64_t, int64_t, double);

}  // namespace krait::kernels::cpu
