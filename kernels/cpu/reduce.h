// kernels/cpu/reduce.h — sums along one axis on the host and the broadcast that is their gradient.
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// x viewed as (outer, dim, inner) -> y (outer, inner): y = scale * sum over the middle axis.
template <typename T> void sum_axis(const T* x, T* y, int64_t outer, int64_t dim, int64_t inner, T scale);
// grad_y (outer, inner) -> grad_x (outer, dim, inner): grad_x = scale * grad_y repeated along dim.
template <typename T> void expand_axis(const T* grad_y, T* grad_x, int64_t outer, int64_t dim, int64_t inner, T scale);

}  // namespace krait::kernels::cpu
