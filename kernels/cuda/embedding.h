// kernels/cuda/embedding.h — embedding lookup on the device: the row gather, its deterministic scatter-add
// gradient and the id check; the CUDA side of kernels/cpu/embedding.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

// *first (one int64 on the device) = the position of the first id outside [0, vocab), or -1
// (cpu::first_invalid_id). Only enqueued: the host reads *first when it next waits for the device.
void find_first_invalid_id(const int64_t* ids, int64_t n, int64_t vocab, int64_t* first, cudaStream_t stream);

// out (n, dim) = weight[ids] with weight (vocab, dim), both f32 or both bf16 (`type`). Ids must be valid; a
// row for an invalid id is zero (the weight is never read out of bounds).
void embedding_forward(const void* weight, DType type, const int64_t* ids, void* out, int64_t n, int64_t vocab,
                       int64_t dim, cudaStream_t stream);

// grad_weight (vocab, dim, f32) is overwritten with the sum of grad_out[i] (n, dim, f32 or bf16) over the
// positions i with ids[i] = row; positions with invalid ids are left out. Deterministic without atomics:
// the (id, position) pairs are sorted by a stable radix sort (CUB), so each row's positions form a segment
// in increasing order; one block per vocabulary row splits its segment into 8 contiguous parts, one per
// warp, sums each in order and adds the 8 parts in order. workspace: embedding_backward_workspace_bytes.
size_t embedding_backward_workspace_bytes(int64_t n, int64_t vocab);
void embedding_backward(const void* grad_out, DType type, const int64_t* ids, float* grad_weight, void* workspace,
                        int64_t n, int64_t vocab, int64_t dim, cudaStream_t stream);

}  // namespace krait::kernels::cuda
