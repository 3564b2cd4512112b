// kernels/cuda/argmax.cu — argmax_rows (see argmax.h): one block per row; each thread keeps the best
// (value, index) of its strided columns, then the block reduces the pairs, preferring the larger value
// and, between equal ones, the lower index, so the result does not depend on the reduction's order.
#include <cuda_bf16.h>

#include <cfloat>

#include "common/error.h"
#include "kernels/cuda/argmax.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda {
namespace {
using numeric::to_float;

constexpr int kThreads = 256;

// (v, i) beats (best_v, best_i): larger, or equal and earlier. NaN is taken as -inf; index -1 is "none".
__device__ __forceinline__ bool beats(float v, int64_t i, float best_v, int64_t best_i) {
  return best_i < 0 || v > best_v || (v == best_v && i < best_i);
}

template <typename T>
__global__ void __launch_bounds__(kThreads) argmax_kernel(const T* __restrict__ x, int32_t* out, int64_t stride,
                                                          int64_t width) {
  const T* row = x + blockIdx.x * stride;
  float best_v = -FLT_MAX;
  int64_t best_i = -1;
  for (int64_t c = threadIdx.x; c < width; c += kThreads) {
    float v = to_float(row[c]);
    if (v != v) v = -INFINITY;
    if (beats(v, c, best_v, best_i)) best_v = v, best_i = c;
  }
  for (int off = 16; off > 0; off /= 2) {
    const float v = __shfl_xor_sync(0xffffffffu, best_v, off);
    const int64_t i = __shfl_xor_sync(0xffffffffu, best_i, off);
    if (i >= 0 && beats(v, i, best_v, best_i)) best_v = v, best_i = i;
  }
  __shared__ float warp_v[kThreads / 32];
  __shared__ int64_t warp_i[kThreads / 32];
  if (threadIdx.x % 32 == 0) warp_v[threadIdx.x / 32] = best_v, warp_i[threadIdx.x / 32] = best_i;
  __syncthreads();
  if (threadIdx.x != 0) return;
  for (int w = 1; w < kThreads / 32; ++w)
    if (warp_i[w] >= 0 && beats(warp_v[w], warp_i[w], best_v, best_i)) best_v = warp_v[w], best_i = warp_i[w];
  out[blockIdx.x] = int32_t(best_i < 0 ? 0 : best_i);
}

}  // namespace

void argmax_rows(const void* x, DType type, int32_t* out, int64_t rows, int64_t stride, int64_t width,
                 cudaStream_t stream) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, "argmax_rows (cuda): f32 or bf16 only");
  KRAIT_CHECK(rows <= 0x7fffffff && width >= 1, "argmax_rows (cuda): ", rows, " rows of ", width);
  if (rows == 0) return;
  if (type == DType::BF16)
    argmax_kernel<<<unsigned(rows), kThreads, 0, stream>>>(static_cast<const __nv_bfloat16*>(x), out, stride, width);
  else
    argmax_kernel<<<unsigned(rows), kThreads, 0, stream>>>(static_cast<const float*>(x), out, stride, width);
  KRAIT_CUDA_CHECK_LAUNCH("argmax_kernel");
}

}  // namespace krait::kernels::cuda
