// kernels/cuda/cast.cu — device dtype conversion: one grid-stride kernel per (source, target) pair.
#include "kernels/cuda/cast.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <type_traits>

#include "kernels/cuda/check.h"

namespace krait::kernels::cuda {
namespace {

template <typename T> __device__ float to_float(T v) { return static_cast<float>(v); }
template <> __device__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename To, typename From> __device__ To convert(From v) {
  if constexpr (std::is_same_v<To, __nv_bfloat16>) return __float2bfloat16_rn(to_float(v));
  else if constexpr (std::is_same_v<From, __nv_bfloat16>) return static_cast<To>(__bfloat162float(v));
  else return static_cast<To>(v);
}

template <typename From, typename To>
__global__ void cast_kernel(const From* __restrict__ src, To* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = convert<To>(src[i]);
}

template <typename From, typename To> void launch(const void* src, void* dst, int64_t n, cudaStream_t stream) {
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 65535);
  cast_kernel<From, To><<<blocks, kThreads, 0, stream>>>(static_cast<const From*>(src), static_cast<To*>(dst), n);
  KRAIT_CUDA_CHECK_LAUNCH("cast cast_kernel");
}

template <typename From> void launch_from(const void* src, void* dst, DType dst_type, int64_t n, cudaStream_t s) {
  switch (dst_type) {
    case DType::F32: return launch<From, float>(src, dst, n, s);
    case DType::BF16: return launch<From, __nv_bfloat16>(src, dst, n, s);
    case DType::F64: return launch<From, double>(src, dst, n, s);
    case DType::I32: return launch<From, int32_t>(src, dst, n, s);
    case DType::I64: return launch<From, int64_t>(src, dst, n, s);
  }
}

}  // namespace

void cast(const void* src, DType src_type, void* dst, DType dst_type, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  switch (src_type) {
    case DType::F32: return launch_from<float>(src, dst, dst_type, n, stream);
    case DType::BF16: return launch_from<__nv_bfloat16>(src, dst, dst_type, n, stream);
    case DType::F64: return launch_from<double>(src, dst, dst_type, n, stream);
    case DType::I32: return launch_from<int32_t>(src, dst, dst_type, n, stream);
    case DType::I64: return launch_from<int64_t>(src, dst, dst_type, n, stream);
  }
}

}  // namespace krait::kernels::cuda
