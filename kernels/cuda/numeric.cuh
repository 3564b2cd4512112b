// kernels/cuda/numeric.cuh — device helpers shared by the CUDA kernels: f32 <-> storage-type
// conversion (f32 or bf16, arithmetic always in f32), aligned packs for vector loads, and sigmoid.
#pragma once

#include <cuda_bf16.h>

namespace krait::kernels::cuda::numeric {

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// V elements of T, aligned so that one pack is one vector access.
template <typename T, int V> struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

}  // namespace krait::kernels::cuda::numeric
