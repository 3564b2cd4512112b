// kernels/cuda/numeric.cuh — device helpers shared by the CUDA kernels: f32 <-> storage-type
// conversion (f32 or bf16, arithmetic always in f32), aligned packs for vector loads, runs of M
// consecutive elements read and written as 16-byte vectors where they can be, and sigmoid.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>
#include <type_traits>

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

// v[0..M) = row[t..t + M) as float, zero at or past `end`. With `vec` all M are inside and row + t
// is 16-byte aligned, so they are read as 16-byte vectors.
template <int M, typename T>
__device__ __forceinline__ void load_run(const T* row, int64_t t, int64_t end, bool vec, float (&v)[M]) {
  constexpr int kPer = 16 / int(sizeof(T));
  static_assert(M % kPer == 0);
  if (vec) {
    const uint4* p = reinterpret_cast<const uint4*>(row + t);
#pragma unroll
    for (int q = 0; q < M / kPer; ++q) {
      const uint4 r = p[q];
      if constexpr (std::is_same_v<T, float>) {
        v[4 * q] = __uint_as_float(r.x);
        v[4 * q + 1] = __uint_as_float(r.y);
        v[4 * q + 2] = __uint_as_float(r.z);
        v[4 * q + 3] = __uint_as_float(r.w);
      } else {
        const unsigned words[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
        for (int k = 0; k < 4; ++k) {  // bf16 -> f32 is a 16-bit shift: low half first
          v[8 * q + 2 * k] = __uint_as_float(words[k] << 16);
          v[8 * q + 2 * k + 1] = __uint_as_float(words[k] & 0xffff0000u);
        }
      }
    }
  } else {
#pragma unroll
    for (int i = 0; i < M; ++i) v[i] = t + i < end ? to_float(row[t + i]) : 0.0f;
  }
}

// row[t..t + M) = v, only below `end`; 16-byte vectors with `vec` (as load_run).
template <int M, typename T>
__device__ __forceinline__ void store_run(T* row, int64_t t, int64_t end, bool vec, const float (&v)[M]) {
  constexpr int kPer = 16 / int(sizeof(T));
  if (vec) {
    uint4* p = reinterpret_cast<uint4*>(row + t);
#pragma unroll
    for (int q = 0; q < M / kPer; ++q) {
      uint4 r;
      if constexpr (std::is_same_v<T, float>) {
        r = make_uint4(__float_as_uint(v[4 * q]), __float_as_uint(v[4 * q + 1]), __float_as_uint(v[4 * q + 2]),
                       __float_as_uint(v[4 * q + 3]));
      } else {
        unsigned words[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          const __nv_bfloat162 h = __floats2bfloat162_rn(v[8 * q + 2 * k], v[8 * q + 2 * k + 1]);
          words[k] = *reinterpret_cast<const unsigned*>(&h);
        }
        r = make_uint4(words[0], words[1], words[2], words[3]);
      }
      p[q] = r;
    }
  } else {
#pragma unroll
    for (int i = 0; i < M; ++i)
      if (t + i < end) row[t + i] = from_float<T>(v[i]);
  }
}

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// softplus(x) = log(1 + e^x) within a few ulp and without branches, as max(x, 0) + log1p(e^-|x|) with
// log1p(y) = 2 atanh(s) = 2 (s + s^3/3 + ... + s^13/13), s = y / (2 + y) <= 1/3 — the series of the CPU
// scan's cpu::fast_softplus (kernels/cpu/fast_math.h), here on the fast e^x and division. Equal to x
// in float above the reference's threshold of 20, where e^-x is below half an ulp of x.
__device__ __forceinline__ float fast_softplus(float x) {
  const float y = __expf(-fabsf(x));
  const float s = __fdividef(y, 2.0f + y), s2 = s * s;
  float p = 2.0f / 13;
  p = fmaf(p, s2, 2.0f / 11);
  p = fmaf(p, s2, 2.0f / 9);
  p = fmaf(p, s2, 2.0f / 7);
  p = fmaf(p, s2, 2.0f / 5);
  p = fmaf(p, s2, 2.0f / 3);
  p = fmaf(p, s2, 2.0f);
  return fmaxf(x, 0.0f) + s * p;
}

}  // namespace krait::kernels::cuda::numeric
