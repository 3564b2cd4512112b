// kernels/cuda/pool.cu — sequence pooling (see pool.h).
#include "kernels/cuda/pool.h"

#include <cuda_bf16.h>

#include <algorithm>

#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"
#include "kernels/cuda/reduce.h"

namespace krait::kernels::cuda {
namespace {
using numeric::from_float;
using numeric::to_float;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t{1} << 20;  // grid-stride beyond this

int64_t blocks_for(int64_t n) { return std::min((n + kThreads - 1) / kThreads, kMaxBlocks); }

// The last position that counts in row b: its length clamped to [1, len], minus one.
__device__ __forceinline__ int64_t last_of(const int32_t* lengths, int64_t b, int64_t len) {
  if (lengths == nullptr) return len - 1;
  const int64_t n = lengths[b];
  return (n < 1 ? 1 : (n > len ? len : n)) - 1;
}

__global__ void first_invalid_kernel(const int32_t* __restrict__ lengths, int64_t batch, int64_t len,
                                     unsigned long long* first) {
  for (int64_t b = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; b < batch; b += int64_t(gridDim.x) * blockDim.x)
    if (lengths[b] < 1 || lengths[b] > len) atomicMin(first, static_cast<unsigned long long>(b));
}

// y[b, i] = x[b, last_b, i].
template <typename T>
__global__ void last_forward_kernel(const T* __restrict__ x, const int32_t* __restrict__ lengths, T* __restrict__ y,
                                    int64_t batch, int64_t len, int64_t dim) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < batch * dim;
       k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = k / dim, i = k % dim;
    y[k] = x[(b * len + last_of(lengths, b, len)) * dim + i];
  }
}

// grad_x[b, t, i] = grad_y[b, i] at t = last_b, 0 elsewhere.
template <typename T>
__global__ void last_backward_kernel(const T* __restrict__ grad_y, const int32_t* __restrict__ lengths,
                                     T* __restrict__ grad_x, int64_t batch, int64_t len, int64_t dim) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < batch * len * dim;
       k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = k % dim, row = k / dim;
    const int64_t t = row % len, b = row / len;
    grad_x[k] = t == last_of(lengths, b, len) ? grad_y[b * dim + i] : from_float<T>(0.0f);
  }
}

void check_args(DType type, int64_t batch, int64_t len, int64_t dim, const char* what) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, what, ": f32 or bf16 expected, got ", dtype_name(type));
  KRAIT_CHECK(batch >= 0 && len >= 1 && dim >= 0, what, ": bad extents (batch ", batch, ", len ", len, ", dim ", dim,
              ")");
}

template <typename T>
void launch_last_forward(const void* x, const int32_t* lengths, void* y, int64_t batch, int64_t len, int64_t dim,
                         cudaStream_t stream) {
  last_forward_kernel<T><<<unsigned(blocks_for(batch * dim)), kThreads, 0, stream>>>(
      static_cast<const T*>(x), lengths, static_cast<T*>(y), batch, len, dim);
  KRAIT_CUDA_CHECK_LAUNCH("pool_sequence last_forward_kernel");
}

template <typename T>
void launch_last_backward(const void* grad_y, const int32_t* lengths, void* grad_x, int64_t batch, int64_t len,
                          int64_t dim, cudaStream_t stream) {
  last_backward_kernel<T><<<unsigned(blocks_for(batch * len * dim)), kThreads, 0, stream>>>(
      static_cast<const T*>(grad_y), lengths, static_cast<T*>(grad_x), batch, len, dim);
  KRAIT_CUDA_CHECK_LAUNCH("pool_sequence last_backward_kernel");
}

}  // namespace

void find_first_invalid_length(const int32_t* lengths, int64_t batch, int64_t len, int64_t* first,
                               cudaStream_t stream) {
  KRAIT_CUDA_CHECK(cudaMemsetAsync(first, 0xff, sizeof(int64_t), stream));  // -1
  if (lengths == nullptr || batch == 0) return;
  first_invalid_kernel<<<unsigned(std::min<int64_t>(blocks_for(batch), 1024)), kThreads, 0, stream>>>(
      lengths, batch, len, reinterpret_cast<unsigned long long*>(first));
  KRAIT_CUDA_CHECK_LAUNCH("pool_sequence first_invalid_kernel");
}

size_t pool_forward_workspace_bytes(PoolKind kind, int64_t batch, int64_t len, int64_t dim) {
  return kind == PoolKind::Mean ? sum_axis_workspace_bytes(batch, len, dim) : 0;
}

void pool_forward(PoolKind kind, const void* x, const int32_t* lengths, void* y, DType type, int64_t batch,
                  int64_t len, int64_t dim, void* workspace, cudaStream_t stream) {
  check_args(type, batch, len, dim, "cuda pool_forward");
  if (batch * dim == 0) return;
  if (kind == PoolKind::Mean) {
    if (lengths) return mean_axis_prefix(x, lengths, y, type, batch, len, dim, workspace, stream);
    return sum_axis(x, y, type, batch, len, dim, 1.0f / float(len), workspace, stream);
  }
  if (type == DType::F32) return launch_last_forward<float>(x, lengths, y, batch, len, dim, stream);
  return launch_last_forward<__nv_bfloat16>(x, lengths, y, batch, len, dim, stream);
}

void pool_backward(PoolKind kind, const void* grad_y, const int32_t* lengths, void* grad_x, DType type, int64_t batch,
                   int64_t len, int64_t dim, cudaStream_t stream) {
  check_args(type, batch, len, dim, "cuda pool_backward");
  if (batch * dim == 0) return;
  if (kind == PoolKind::Mean) {
    if (lengths) return expand_axis_prefix(grad_y, lengths, grad_x, type, batch, len, dim, stream);
    return expand_axis(grad_y, grad_x, type, batch, len, dim, 1.0f / float(len), stream);
  }
  if (type == DType::F32) return launch_last_backward<float>(grad_y, lengths, grad_x, batch, len, dim, stream);
  return launch_last_backward<__nv_bfloat16>(grad_y, lengths, grad_x, batch, len, dim, stream);
}

}  // namespace krait::kernels::cuda
