// kernels/cpu/pool.h — sequence pooling on the host, the reference for kernels/cuda/pool.h: x (batch,
// len, dim) -> y (batch, dim), over the first lengths[b] positions of each row (lengths null: every row
// has length len). Mean averages them; Last takes position lengths[b] - 1. Forward and backward side by
// side, templated on float and double; each loop runs in a fixed order (deterministic).
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

enum class PoolKind { Mean, Last };

// The first b with lengths[b] outside [1, len], or -1 when all are inside (and when lengths is null).
int64_t first_invalid_length(const int32_t* lengths, int64_t batch, int64_t len);

// y[b, :] = mean over t < n_b of x[b, t, :] (Mean) or x[b, n_b - 1, :] (Last), n_b = lengths[b] (or len).
// Lengths must be valid.
template <typename T>
void pool_forward(PoolKind kind, const T* x, const int32_t* lengths, T* y, int64_t batch, int64_t len, int64_t dim);

// grad_x (batch, len, dim) is overwritten: Mean puts grad_y[b, :] / n_b at every t < n_b, Last puts
// grad_y[b, :] at t = n_b - 1; every other position is zero.
template <typename T>
void pool_backward(PoolKind kind, const T* grad_y, const int32_t* lengths, T* grad_x, int64_t batch, int64_t len,
                   int64_t dim);

}  // namespace krait::kernels::cpu
