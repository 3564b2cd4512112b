// kernels/cuda/attention_backward.cu — the causal attention backward (see attention.h), FlashAttention-2's
// recomputation without atomics: every gradient element has one writer, so runs are bit-identical.
// - row_dot_kernel: D = rowsum(dO * O) per (batch, head, position), into the workspace.
// - dK/dV kernels: one CTA per key block walks the query blocks from the diagonal to the end, recomputing
//   P = exp(S - LSE) and dS = P (dP - D), and accumulates dV += P^T dO, dK += dS^T Q.
// - dQ kernels: one CTA per query block walks the key blocks up to the diagonal and accumulates dQ += dS K
//   (S and dP are computed a second time: the price of no atomics).
// Both write straight into grad_qkv at the key/value or query offsets. Two variants of each:
// - mma_* (bf16, head_dim 64 or 128): 64 x 64 blocks, 8 warps. Phase A: warp (w % 4, w / 4) computes a
//   16 x 32 slice of S and dP on mma.sync and writes P, dS (bf16) to shared memory; phase B: warp
//   (w % 4, w / 4) accumulates 16 rows x head_dim / 2 columns of the gradients in registers.
// - generic_* (f32 or bf16, any head_dim up to 256): 32 x 32 f32 tiles; each thread scores one (query, key)
//   pair per 8 and owns a fixed set of gradient elements.
#include "kernels/cuda/attention.h"

#include <cuda_bf16.h>

#include <cmath>

#include "kernels/cuda/attention_common.cuh"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda {
namespace {
using namespace attention;
using numeric::from_float;
using numeric::to_float;

// One warp per row r of the (batch * length * heads, head_dim) out: D[(b, h), t] = out[r] . grad_out[r].
template <typename T>
__global__ void row_dot_kernel(const T* __restrict__ out, const T* __restrict__ grad_out, float* __restrict__ d,
                               int64_t rows, int64_t length, int heads, int head_dim) {
  const int64_t r = blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32;
  if (r >= rows) return;
  const int lane = threadIdx.x % 32;
  float sum = 0.0f;
  for (int i = lane; i < head_dim; i += 32) sum += to_float(out[r * head_dim + i]) * to_float(grad_out[r * head_dim + i]);
  sum = warp_sum(sum);
  const int64_t h = r % heads, bt = r / heads, b = bt / length, t = bt % length;
  if (lane == 0) d[(b * heads + h) * length + t] = sum;
}

// Per row of a 32- or 64-row query block: lse in log2 units and D, or +inf and 0 past the end (P = 0 there).
__device__ __forceinline__ void load_row_stats(const float* lse, const float* d, int64_t q0, int64_t length,
                                               int rows, float* s_lse, float* s_d) {
  for (int r = threadIdx.x; r < rows; r += blockDim.x) {
    const bool valid = q0 + r < length;
    s_lse[r] = valid ? lse[q0 + r] * kLog2e : INFINITY;
    s_d[r] = valid ? d[q0 + r] : 0.0f;
  }
}

// ---- generic path ----

// Shared memory: four 32 x (head_dim + 1) tiles, two 32 x 33 score tiles, then lse and D of 32 rows.
size_t generic_smem(int64_t head_dim) {
  return (4 * kGenericRows * size_t(head_dim + 1) + 2 * kGenericRows * (kGenericRows + 1) + 2 * kGenericRows) *
         sizeof(float);
}

// P[r][c] and dS[r][c] for query row q0 + r and key k0 + c (zero above the diagonal and past the end).
// Thread (warp w, lane c) computes rows w, w + 8, ...
__device__ __forceinline__ void generic_probs(const float* sq, const float* sdo, const float* sk, const float* sv,
                                              const float* s_lse, const float* s_d, int head_dim, int64_t q0,
                                              int64_t k0, int64_t length, float scale_log2, float* sp, float* sds) {
  const int st = head_dim + 1, warp = threadIdx.x / 32, c = threadIdx.x % 32;
  for (int rr = 0; rr < kGenericRows / kGenericWarps; ++rr) {
    const int r = warp + kGenericWarps * rr;
    float s = 0.0f, dp = 0.0f;
    for (int i = 0; i < head_dim; ++i) {
      s += sq[r * st + i] * sk[c * st + i];
      dp += sdo[r * st + i] * sv[c * st + i];
    }
    const int64_t key = k0 + c;
    const float prob = key > q0 + r || key >= length ? 0.0f : exp2f(s * scale_log2 - s_lse[r]);
    if (sp) sp[r * (kGenericRows + 1) + c] = prob;
    sds[r * (kGenericRows + 1) + c] = prob * (dp - s_d[r]);
  }
}

template <typename T>
__global__ void __launch_bounds__(kGenericThreads)
    generic_dkdv_kernel(const T* __restrict__ qkv, const T* __restrict__ grad_out, const float* __restrict__ lse,
                        const float* __restrict__ d, T* __restrict__ grad_qkv, int64_t length, int heads, int head_dim,
                        float scale_log2, float scale) {
  extern __shared__ float smem[];
  const int st = head_dim + 1, tile = kGenericRows * st;
  float *sk = smem, *sv = sk + tile, *sq = sv + tile, *sdo = sq + tile, *sp = sdo + tile;
  float *sds = sp + kGenericRows * (kGenericRows + 1), *s_lse = sds + kGenericRows * (kGenericRows + 1),
        *s_d = s_lse + kGenericRows;
  const int64_t k0 = int64_t(blockIdx.x) * kGenericRows;
  const HeadPtrs p = head_ptrs(blockIdx.z, blockIdx.y, length, heads, head_dim);
  load_rows(qkv + p.k, p.row_stride, k0, length, head_dim, sk);
  load_rows(qkv + p.v, p.row_stride, k0, length, head_dim, sv);
  const int owned = kGenericRows * head_dim;
  float dk[kGenericOwned] = {}, dv[kGenericOwned] = {};
  for (int64_t q0 = k0; q0 < length; q0 += kGenericRows) {
    __syncthreads();  // the previous block's readers are done
    load_rows(qkv + p.q, p.row_stride, q0, length, head_dim, sq);
    load_rows(grad_out + p.o, p.out_stride, q0, length, head_dim, sdo);
    load_row_stats(lse + p.lse, d + p.lse, q0, length, kGenericRows, s_lse, s_d);
    __syncthreads();
    generic_probs(sq, sdo, sk, sv, s_lse, s_d, head_dim, q0, k0, length, scale_log2, sp, sds);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kGenericOwned; ++k) {  // element (key j, column i)
      const int e = threadIdx.x + kGenericThreads * k;
      if (e >= owned) break;
      const int j = e / head_dim, i = e % head_dim;
      float a = dk[k], b = dv[k];
      for (int r = 0; r < kGenericRows; ++r) {
        a += sds[r * (kGenericRows + 1) + j] * sq[r * st + i];
        b += sp[r * (kGenericRows + 1) + j] * sdo[r * st + i];
      }
      dk[k] = a, dv[k] = b;
    }
  }
#pragma unroll
  for (int k = 0; k < kGenericOwned; ++k) {
    const int e = threadIdx.x + kGenericThreads * k;
    if (e >= owned) break;
    const int j = e / head_dim, i = e % head_dim;
    if (k0 + j >= length) continue;
    grad_qkv[p.k + (k0 + j) * p.row_stride + i] = from_float<T>(dk[k] * scale);
    grad_qkv[p.v + (k0 + j) * p.row_stride + i] = from_float<T>(dv[k]);
  }
}

template <typename T>
__global__ void __launch_bounds__(kGenericThreads)
    generic_dq_kernel(const T* __restrict__ qkv, const T* __restrict__ grad_out, const float* __restrict__ lse,
                      const float* __restrict__ d, T* __restrict__ grad_qkv, int64_t length, int heads, int head_dim,
                      float scale_log2, float scale) {
  extern __shared__ float smem[];
  const int st = head_dim + 1, tile = kGenericRows * st;
  float *sq = smem, *sdo = sq + tile, *sk = sdo + tile, *sv = sk + tile, *sds = sv + tile;
  float *s_lse = sds + 2 * kGenericRows * (kGenericRows + 1), *s_d = s_lse + kGenericRows;
  const int qb = gridDim.x - 1 - blockIdx.x;
  const int64_t q0 = int64_t(qb) * kGenericRows;
  const HeadPtrs p = head_ptrs(blockIdx.z, blockIdx.y, length, heads, head_dim);
  load_rows(qkv + p.q, p.row_stride, q0, length, head_dim, sq);
  load_rows(grad_out + p.o, p.out_stride, q0, length, head_dim, sdo);
  load_row_stats(lse + p.lse, d + p.lse, q0, length, kGenericRows, s_lse, s_d);
  const int owned = kGenericRows * head_dim;
  float dq[kGenericOwned] = {};
  for (int64_t k0 = 0; k0 <= q0; k0 += kGenericRows) {
    __syncthreads();
    load_rows(qkv + p.k, p.row_stride, k0, length, head_dim, sk);
    load_rows(qkv + p.v, p.row_stride, k0, length, head_dim, sv);
    __syncthreads();
    generic_probs(sq, sdo, sk, sv, s_lse, s_d, head_dim, q0, k0, length, scale_log2, nullptr, sds);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kGenericOwned; ++k) {  // element (query row r, column i)
      const int e = threadIdx.x + kGenericThreads * k;
      if (e >= owned) break;
      const int r = e / head_dim, i = e % head_dim;
      float a = dq[k];
      for (int c = 0; c < kGenericRows; ++c) a += sds[r * (kGenericRows + 1) + c] * sk[c * st + i];
      dq[k] = a;
    }
  }
#pragma unroll
  for (int k = 0; k < kGenericOwned; ++k) {
    const int e = threadIdx.x + kGenericThreads * k;
    if (e >= owned) break;
    const int r = e / head_dim, i = e % head_dim;
    if (q0 + r < length) grad_qkv[p.q + (q0 + r) * p.row_stride + i] = from_float<T>(dq[k] * scale);
  }
}

// ---- tensor-core path ----

// Phase A for a block pair: the warp's 16 x 32 slice of S = A1 B1^T and dP = A2 B2^T, where A1, A2 are 64-row
// tiles read from row a_row and B1, B2 64-row tiles read from row b_row (all row-major, head_dim columns).
template <int kDh>
__device__ __forceinline__ void slice_products(const bf16* a1, const bf16* b1, const bf16* a2, const bf16* b2,
                                               int a_row, int b_row, int lane, float (&s)[4][4], float (&dp)[4][4]) {
  constexpr int kS = kStride<kDh>;
#pragma unroll
  for (int ks = 0; ks < kDh / 16; ++ks) {
    uint32_t fa1[4], fa2[4];
    ldmatrix_x4(fa1, frag_a(a1, kS, a_row, 16 * ks, lane));
    ldmatrix_x4(fa2, frag_a(a2, kS, a_row, 16 * ks, lane));
#pragma unroll
    for (int np = 0; np < 2; ++np) {
      uint32_t b[4];
      ldmatrix_x4(b, frag_b_nmajor(b1, kS, b_row + 16 * np, 16 * ks, lane));
      mma(s[2 * np], fa1, b[0], b[1]);
      mma(s[2 * np + 1], fa1, b[2], b[3]);
      ldmatrix_x4(b, frag_b_nmajor(b2, kS, b_row + 16 * np, 16 * ks, lane));
      mma(dp[2 * np], fa2, b[0], b[1]);
      mma(dp[2 * np + 1], fa2, b[2], b[3]);
    }
  }
}

// acc (16 rows from `row` x head_dim / 2 columns from `col`) += A (a 64 x 64 bf16 tile of stride kPStride,
// rows from `row`) * B (a 64 x head_dim k-major tile).
template <int kDh>
__device__ __forceinline__ void accumulate(const bf16* a, const bf16* b, int row, int col, int lane,
                                           float (&acc)[kDh / 16][4]) {
#pragma unroll
  for (int kk = 0; kk < kTile / 16; ++kk) {
    uint32_t fa[4];
    ldmatrix_x4(fa, frag_a(a, kPStride, row, 16 * kk, lane));
#pragma unroll
    for (int np = 0; np < kDh / 32; ++np) {
      uint32_t fb[4];
      ldmatrix_x4_trans(fb, frag_a(b, kStride<kDh>, 16 * kk, col + 16 * np, lane));
      mma(acc[2 * np], fa, fb[0], fb[1]);
      mma(acc[2 * np + 1], fa, fb[2], fb[3]);
    }
  }
}

// Stores the warp's accumulator slice (times scale) as bf16 into a padded tile at (row, col).
template <int kDh>
__device__ __forceinline__ void stage(const float (&acc)[kDh / 16][4], float scale, bf16* tile, int row, int col,
                                      int lane) {
  const int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int n = 0; n < kDh / 16; ++n)
#pragma unroll
    for (int hr = 0; hr < 2; ++hr)
      *reinterpret_cast<uint32_t*>(tile + (row + g + 8 * hr) * kStride<kDh> + col + 8 * n + 2 * t) =
          pack_bf16(acc[n][2 * hr] * scale, acc[n][2 * hr + 1] * scale);
}

// Copies the rows of a staged 64-row tile that are before `length` to dst (row stride `stride`) as 16-byte
// vectors.
template <int kDh>
__device__ __forceinline__ void store_tile(const bf16* tile, bf16* dst, int64_t stride, int64_t row0,
                                           int64_t length) {
  for (int c = threadIdx.x; c < kTile * kDh / 8; c += kThreads) {
    const int r = c / (kDh / 8), col = (c % (kDh / 8)) * 8;
    if (row0 + r < length)
      *reinterpret_cast<uint4*>(dst + (row0 + r) * stride + col) =
          *reinterpret_cast<const uint4*>(tile + r * kStride<kDh> + col);
  }
}

// Writes the warp's P or dS slice (rows row + g, + 8 and columns col + 8 n + 2 t, + 1 of the 64 x 64 tile).
__device__ __forceinline__ void store_probs(const float (&v)[4][4], bf16* tile, int row, int col, int lane) {
  const int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int n = 0; n < 4; ++n)
#pragma unroll
    for (int hr = 0; hr < 2; ++hr)
      *reinterpret_cast<uint32_t*>(tile + (row + g + 8 * hr) * kPStride + col + 8 * n + 2 * t) =
          pack_bf16(v[n][2 * hr], v[n][2 * hr + 1]);
}

template <int kDh> constexpr size_t mma_backward_smem() {
  return (4 * size_t(kTile) * kStride<kDh> + 2 * size_t(kTile) * kPStride) * sizeof(bf16) + 2 * kTile * sizeof(float);
}

// One CTA per 64-key block. Shared: K, V, Q, dO tiles, then P^T and dS^T (keys x queries), then lse and D.
// Phase A, warp w: keys kr = 16 (w % 4) .. +15 against queries qc = 32 (w / 4) .. +31 (S^T = K Q^T and
// dP^T = V dO^T). Phase B, warp w: keys kr, columns dc = head_dim / 2 (w / 4) .. of dK and dV.
template <int kDh>
__global__ void __launch_bounds__(kThreads, 2)
    mma_dkdv_kernel(const bf16* __restrict__ qkv, const bf16* __restrict__ grad_out, const float* __restrict__ lse,
                    const float* __restrict__ d, bf16* __restrict__ grad_qkv, int64_t length, int heads,
                    float scale_log2, float scale) {
  constexpr int kS = kStride<kDh>;
  extern __shared__ __align__(16) unsigned char smem_bytes[];
  bf16* sk = reinterpret_cast<bf16*>(smem_bytes);
  bf16 *sv = sk + kTile * kS, *sq = sv + kTile * kS, *sdo = sq + kTile * kS, *spt = sdo + kTile * kS;
  bf16* sdst = spt + kTile * kPStride;
  float *s_lse = reinterpret_cast<float*>(sdst + kTile * kPStride), *s_d = s_lse + kTile;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int kr = 16 * (warp % 4), qc = 32 * (warp / 4), dc = kDh / 2 * (warp / 4);
  const int64_t k0 = int64_t(blockIdx.x) * kTile;
  const HeadPtrs p = head_ptrs(blockIdx.z, blockIdx.y, length, heads, kDh);
  load_tile_async<kTile, kDh>(sk, qkv + p.k, p.row_stride, k0, length);
  load_tile_async<kTile, kDh>(sv, qkv + p.v, p.row_stride, k0, length);
  float dk[kDh / 16][4] = {}, dv[kDh / 16][4] = {};
  for (int64_t q0 = k0; q0 < length; q0 += kTile) {
    load_tile_async<kTile, kDh>(sq, qkv + p.q, p.row_stride, q0, length);
    load_tile_async<kTile, kDh>(sdo, grad_out + p.o, p.out_stride, q0, length);
    cp_async_commit();
    load_row_stats(lse + p.lse, d + p.lse, q0, length, kTile, s_lse, s_d);
    cp_async_wait<0>();
    __syncthreads();
    float st[4][4] = {}, dpt[4][4] = {};
    slice_products<kDh>(sk, sq, sv, sdo, kr, qc, lane, st, dpt);
    const bool diagonal = q0 == k0;
#pragma unroll
    for (int n = 0; n < 4; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = kr + g + 8 * (e >> 1), query = qc + 8 * n + 2 * t + (e & 1);
        const float prob = diagonal && query < key ? 0.0f : exp2f(st[n][e] * scale_log2 - s_lse[query]);
        st[n][e] = prob;
        dpt[n][e] = prob * (dpt[n][e] - s_d[query]);
      }
    store_probs(st, spt, kr, qc, lane);
    store_probs(dpt, sdst, kr, qc, lane);
    __syncthreads();
    accumulate<kDh>(spt, sdo, kr, dc, lane, dv);
    accumulate<kDh>(sdst, sq, kr, dc, lane, dk);
    __syncthreads();  // the next block's loads overwrite Q, dO, lse and D
  }
  stage<kDh>(dk, scale, sk, kr, dc, lane);
  stage<kDh>(dv, 1.0f, sv, kr, dc, lane);
  __syncthreads();
  store_tile<kDh>(sk, grad_qkv + p.k, p.row_stride, k0, length);
  store_tile<kDh>(sv, grad_qkv + p.v, p.row_stride, k0, length);
}

// One CTA per 64-query block (last first). Shared: Q, dO, K, V tiles, then dS (queries x keys), then lse
// and D. Phase A, warp w: queries qr = 16 (w % 4) .. +15 against keys kc = 32 (w / 4) .. +31; phase B,
// warp w: queries qr, columns dc = head_dim / 2 (w / 4) .. of dQ.
template <int kDh>
__global__ void __launch_bounds__(kThreads, 2)
    mma_dq_kernel(const bf16* __restrict__ qkv, const bf16* __restrict__ grad_out, const float* __restrict__ lse,
                  const float* __restrict__ d, bf16* __restrict__ grad_qkv, int64_t length, int heads,
                  float scale_log2, float scale) {
  constexpr int kS = kStride<kDh>;
  extern __shared__ __align__(16) unsigned char smem_bytes[];
  bf16* sq = reinterpret_cast<bf16*>(smem_bytes);
  bf16 *sdo = sq + kTile * kS, *sk = sdo + kTile * kS, *sv = sk + kTile * kS, *sds = sv + kTile * kS;
  float* s_lse = reinterpret_cast<float*>(sds + 2 * kTile * kPStride);
  float* s_d = s_lse + kTile;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int qr = 16 * (warp % 4), kc = 32 * (warp / 4), dc = kDh / 2 * (warp / 4);
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * kTile;
  const HeadPtrs p = head_ptrs(blockIdx.z, blockIdx.y, length, heads, kDh);
  load_tile_async<kTile, kDh>(sq, qkv + p.q, p.row_stride, q0, length);
  load_tile_async<kTile, kDh>(sdo, grad_out + p.o, p.out_stride, q0, length);
  load_row_stats(lse + p.lse, d + p.lse, q0, length, kTile, s_lse, s_d);
  float dq[kDh / 16][4] = {};
  // Keys of the diagonal block past `length` are above the diagonal for every row before it.
  for (int64_t k0 = 0; k0 <= q0; k0 += kTile) {
    load_tile_async<kTile, kDh>(sk, qkv + p.k, p.row_stride, k0, length);
    load_tile_async<kTile, kDh>(sv, qkv + p.v, p.row_stride, k0, length);
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
    float s[4][4] = {}, dp[4][4] = {};
    slice_products<kDh>(sq, sk, sdo, sv, qr, kc, lane, s, dp);
    const bool diagonal = k0 == q0;
#pragma unroll
    for (int n = 0; n < 4; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int query = qr + g + 8 * (e >> 1), key = kc + 8 * n + 2 * t + (e & 1);
        const float prob = diagonal && key > query ? 0.0f : exp2f(s[n][e] * scale_log2 - s_lse[query]);
        s[n][e] = prob * (dp[n][e] - s_d[query]);
      }
    store_probs(s, sds, qr, kc, lane);
    __syncthreads();
    accumulate<kDh>(sds, sk, qr, dc, lane, dq);
    __syncthreads();  // the next block's loads overwrite K and V
  }
  stage<kDh>(dq, scale, sq, qr, dc, lane);
  __syncthreads();
  store_tile<kDh>(sq, grad_qkv + p.q, p.row_stride, q0, length);
}

template <int kDh>
void launch_mma_backward(const void* qkv, const void* grad_out, const float* lse, const float* d, void* grad_qkv,
                         int64_t batch, int64_t length, int64_t heads, float scale_log2, float scale,
                         cudaStream_t stream) {
  constexpr size_t smem = mma_backward_smem<kDh>();
  const dim3 grid(unsigned((length + kTile - 1) / kTile), unsigned(heads), unsigned(batch));
  const auto* x = static_cast<const bf16*>(qkv);
  const auto* g = static_cast<const bf16*>(grad_out);
  auto* gx = static_cast<bf16*>(grad_qkv);
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(mma_dkdv_kernel<kDh>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  mma_dkdv_kernel<kDh><<<grid, kThreads, smem, stream>>>(x, g, lse, d, gx, length, int(heads), scale_log2, scale);
  KRAIT_CUDA_CHECK_LAUNCH("causal_attention mma_dkdv_kernel");
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(mma_dq_kernel<kDh>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  mma_dq_kernel<kDh><<<grid, kThreads, smem, stream>>>(x, g, lse, d, gx, length, int(heads), scale_log2, scale);
  KRAIT_CUDA_CHECK_LAUNCH("causal_attention mma_dq_kernel");
}

template <typename T>
void launch_generic_backward(const void* qkv, const void* grad_out, const float* lse, const float* d, void* grad_qkv,
                             int64_t batch, int64_t length, int64_t heads, int64_t head_dim, float scale_log2,
                             float scale, cudaStream_t stream) {
  const size_t smem = generic_smem(head_dim);
  const dim3 grid(unsigned((length + kGenericRows - 1) / kGenericRows), unsigned(heads), unsigned(batch));
  const auto* x = static_cast<const T*>(qkv);
  const auto* g = static_cast<const T*>(grad_out);
  auto* gx = static_cast<T*>(grad_qkv);
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(generic_dkdv_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  generic_dkdv_kernel<T><<<grid, kGenericThreads, smem, stream>>>(x, g, lse, d, gx, length, int(heads),
                                                                  int(head_dim), scale_log2, scale);
  KRAIT_CUDA_CHECK_LAUNCH("causal_attention generic_dkdv_kernel");
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(generic_dq_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  generic_dq_kernel<T><<<grid, kGenericThreads, smem, stream>>>(x, g, lse, d, gx, length, int(heads), int(head_dim),
                                                                scale_log2, scale);
  KRAIT_CUDA_CHECK_LAUNCH("causal_attention generic_dq_kernel");
}

}  // namespace

size_t causal_attention_backward_workspace_bytes(int64_t batch, int64_t length, int64_t heads) {
  return size_t(batch * length * heads) * sizeof(float);
}

void causal_attention_backward(const void* qkv, const void* out, const float* lse, const void* grad_out, DType type,
                               void* grad_qkv, void* workspace, int64_t batch, int64_t length, int64_t heads,
                               int64_t head_dim, cudaStream_t stream) {
  check_args("cuda causal_attention_backward", type, batch, length, heads, head_dim);
  if (batch == 0 || length == 0) return;
  KRAIT_CHECK(workspace, "cuda causal_attention_backward: the workspace is required");
  auto* d = static_cast<float*>(workspace);
  const float scale = 1.0f / std::sqrt(float(head_dim)), scale_log2 = scale * kLog2e;
  const int64_t rows = batch * length * heads;
  constexpr int kRowsPerBlock = 8;  // one warp each
  const bool fast = causal_attention_uses_tensor_cores(type, head_dim) && aligned16(qkv) && aligned16(grad_out) &&
                    aligned16(grad_qkv);
  if (type == DType::F32) {
    row_dot_kernel<float><<<unsigned((rows + kRowsPerBlock - 1) / kRowsPerBlock), 32 * kRowsPerBlock, 0, stream>>>(
        static_cast<const float*>(out), static_cast<const float*>(grad_out), d, rows, length, int(heads),
        int(head_dim));
  } else {
    row_dot_kernel<bf16><<<unsigned((rows + kRowsPerBlock - 1) / kRowsPerBlock), 32 * kRowsPerBlock, 0, stream>>>(
        static_cast<const bf16*>(out), static_cast<const bf16*>(grad_out), d, rows, length, int(heads),
        int(head_dim));
  }
  KRAIT_CUDA_CHECK_LAUNCH("causal_attention row_dot_kernel");
  if (fast && head_dim == 64) {
    launch_mma_backward<64>(qkv, grad_out, lse, d, grad_qkv, batch, length, heads, scale_log2, scale, stream);
  } else if (fast) {
    launch_mma_backward<128>(qkv, grad_out, lse, d, grad_qkv, batch, length, heads, scale_log2, scale, stream);
  } else if (type == DType::F32) {
    launch_generic_backward<float>(qkv, grad_out, lse, d, grad_qkv, batch, length, heads, head_dim, scale_log2,
                                   scale, stream);
  } else {
    launch_generic_backward<bf16>(qkv, grad_out, lse, d, grad_qkv, batch, length, heads, head_dim, scale_log2,
                                  scale, stream);
  }
}

}  // namespace krait::kernels::cuda
