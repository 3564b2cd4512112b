// kernels/cpu/embedding.h — embedding lookup on the host: row gather and its scatter-add gradient.
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// The position of the first id outside [0, vocab), or -1 when every id is valid.
int64_t first_invalid_id(const int64_t* ids, int64_t n, int64_t vocab);

// out (n, dim): out[i] = weight[ids[i]], weight (vocab, dim). Ids must be valid.
template <typename T> void embedding_forward(const T* weight, const int64_t* ids, T* out, int64_t n, int64_t dim);

// grad_weight (vocab, dim) is overwritten with the sum of grad_out[i] over the positions i with
// ids[i] = row, accumulated in position order (deterministic for any thread count).
template <typename T>
void embedding_backward(const T* grad_out, const int64_t* ids, T* grad_weight, int64_t n, int64_t vocab, int64_t dim);

}  // namespace krait::kernels::cpu
