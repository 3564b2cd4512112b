// kernels/cuda/attention_common.cuh — what the attention kernels (attention_forward.cu,
// attention_backward.cu) share: the launchers' argument check; where one (batch, head) pair's vectors sit
// in qkv, out and lse; the tile sizes of both paths; the generic path's warp reductions and tile loads;
// and, for the tensor-core path, thin wrappers over the PTX it uses (cp.async, ldmatrix, mma.sync
// m16n8k16 bf16 -> f32) with the fragment addressing they need.
#pragma once

#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>

#include "common/error.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda::attention {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// The vectors of pair (b, h): position t's query at q + t * row_stride, its key at k + ..., its value at
// v + ..., its output (or output gradient) at o + t * out_stride, its lse (and D) at lse + t.
struct HeadPtrs {
  int64_t q, k, v, o, lse, row_stride, out_stride;
};

__device__ __forceinline__ HeadPtrs head_ptrs(int64_t b, int64_t h, int64_t length, int heads, int head_dim) {
  const int64_t width = int64_t(heads) * head_dim;
  HeadPtrs p;
  p.row_stride = 3 * width, p.out_stride = width;
  p.q = b * length * p.row_stride + h * head_dim;
  p.k = p.q + width, p.v = p.q + 2 * width;
  p.o = b * length * width + h * head_dim;
  p.lse = (b * heads + h) * length;
  return p;
}

// The launchers' shared argument check; `op` names the launcher.
inline void check_args(const char* op, DType type, int64_t batch, int64_t length, int64_t heads, int64_t head_dim) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, op, ": qkv must be f32 or bf16, got ", dtype_name(type));
  KRAIT_CHECK(head_dim >= 1 && head_dim <= kMaxAttentionHeadDim, op, ": head_dim ", head_dim, " is outside [1, ",
              kMaxAttentionHeadDim, "]");
  KRAIT_CHECK(batch >= 0 && length >= 0 && heads >= 1 && batch <= 65535 && heads <= 65535 && length < (1ll << 31),
              op, ": (batch, length, heads) = (", batch, ", ", length, ", ", heads, ") is out of range for one launch");
}

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// ---- generic SIMT path: 32-row tiles of f32 in shared memory, row stride head_dim + 1 ----
constexpr int kGenericRows = 32, kGenericThreads = 256, kGenericWarps = kGenericThreads / 32;
// Elements of a 32 x head_dim tile each thread owns (thread tid: tid + 256 k), at most.
constexpr int kGenericOwned = kGenericRows * 256 / kGenericThreads;

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Rows [row0, row0 + 32) of a (length, *) matrix into a 32 x (head_dim + 1) f32 tile; zeros past length.
template <typename T>
__device__ void load_rows(const T* src, int64_t stride, int64_t row0, int64_t length, int head_dim, float* tile) {
  for (int e = threadIdx.x; e < kGenericRows * head_dim; e += kGenericThreads) {
    const int r = e / head_dim, i = e % head_dim;
    tile[r * (head_dim + 1) + i] = row0 + r < length ? numeric::to_float(src[(row0 + r) * stride + i]) : 0.0f;
  }
}

// ---- tensor-core path: bf16 tiles of 64 rows, 8 warps, rows padded by 8 elements (16 bytes) so that
// the 8 rows one ldmatrix reads fall in distinct bank groups ----
constexpr int kTile = 64, kWarps = 8, kThreads = kWarps * 32;
template <int kDh> constexpr int kStride = kDh + 8;
constexpr int kPStride = kTile + 8;

using bf16 = __nv_bfloat16;

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared, asynchronously; zero-filled (src not read) when !valid.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Waits until at most N committed groups are still in flight.
template <int N> __device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// Rows [row0, row0 + kRows) of a (length, *) bf16 matrix with row stride `stride` into a padded shared
// tile, asynchronously; rows at or past `length` become zeros.
template <int kRows, int kDh>
__device__ __forceinline__ void load_tile_async(bf16* tile, const bf16* src, int64_t stride, int64_t row0,
                                                int64_t length) {
  constexpr int kChunks = kDh / 8;  // 16-byte chunks per row
  for (int c = threadIdx.x; c < kRows * kChunks; c += kThreads) {
    const int r = c / kChunks, col = (c % kChunks) * 8;
    const bool valid = row0 + r < length;
    cp_async16(tile + r * kStride<kDh> + col, src + (valid ? row0 + r : 0) * stride + col, valid);
  }
}

// Four 8x8 b16 matrices; lane l gives the address of row l % 8 of matrix l / 8 and receives, of each
// matrix, row l / 4, columns 2 (l % 4) and 2 (l % 4) + 1 (with .trans, of the transposed matrix).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const bf16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const bf16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

// d += a (16x16, row-major) * b (16x8, col-major), bf16 in, f32 accumulate. Fragments (g = lane / 4,
// t = lane % 4): a[0] = (g, 2t..2t+1), a[1] = (g+8, 2t..), a[2] = (g, 2t+8..), a[3] = (g+8, 2t+8..);
// b[0] = (k 2t..2t+1, n g), b[1] = (k 2t+8.., n g); d[0..1] = (g, 2t..2t+1), d[2..3] = (g+8, 2t..2t+1).
__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats as a bf16 pair, the first in the low half (the lower column of a fragment).
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// Addresses for ldmatrix_x4 in a row-major tile of stride `stride`:
// - the A fragment of rows [r0, r0 + 16) x columns [c0, c0 + 16); with .trans the same address gives the
//   B fragments of a k-major tile (rows = k in [r0, r0 + 16), columns = n in [c0, c0 + 16)): registers
//   {0, 1} for n-tile c0, {2, 3} for n-tile c0 + 8;
// - B fragments of an n-major tile (rows = n in [r0, r0 + 16), columns = k in [c0, c0 + 16)), without
//   .trans: registers {0, 1} for n-tile r0, {2, 3} for n-tile r0 + 8.
__device__ __forceinline__ const bf16* frag_a(const bf16* tile, int stride, int r0, int c0, int lane) {
  return tile + (r0 + lane % 16) * stride + c0 + (lane / 16) * 8;
}
__device__ __forceinline__ const bf16* frag_b_nmajor(const bf16* tile, int stride, int r0, int c0, int lane) {
  return tile + (r0 + lane % 8 + (lane / 16) * 8) * stride + c0 + ((lane / 8) % 2) * 8;
}

}  // namespace krait::kernels::cuda::attention
