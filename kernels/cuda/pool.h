// kernels/cuda/pool.h — sequence pooling on the device, the CUDA side of kernels/cpu/pool.h: x (batch,
// len, dim) -> y (batch, dim) over the first lengths[b] positions of each row (lengths: i32 on the
// device, or null for every row of length len). Buffers are f32 or bf16 (`type`), arithmetic in f32.
// Mean is the deterministic length-limited axis sum of reduce.h; Last a gather, its backward a scatter
// that writes every element. The kernels clamp each length to [1, len], so they stay in bounds whatever
// lengths holds; find_first_invalid_length is the check (for cuda::defer_check).
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/cpu/pool.h"
#include "kernels/dtype.h"

namespace krait::kernels::cuda {

using cpu::PoolKind;

// *first = the first b with lengths[b] outside [1, len], or -1 when all are inside (one i64 on the device;
// asynchronous, no host wait).
void find_first_invalid_length(const int32_t* lengths, int64_t batch, int64_t len, int64_t* first,
                               cudaStream_t stream);

size_t pool_forward_workspace_bytes(PoolKind kind, int64_t batch, int64_t len, int64_t dim);
void pool_forward(PoolKind kind, const void* x, const int32_t* lengths, void* y, DType type, int64_t batch,
                  int64_t len, int64_t dim, void* workspace, cudaStream_t stream);
// grad_x (batch, len, dim) is overwritten (zeros where no gradient flows).
void pool_backward(PoolKind kind, const void* grad_y, const int32_t* lengths, void* grad_x, DType type, int64_t batch,
                   int64_t len, int64_t dim, cudaStream_t stream);

}  // namespace krait::kernels::cuda
