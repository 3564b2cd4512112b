// kernels/cuda/attention_forward.cu — the causal attention forward (see attention.h): FlashAttention-2's
// online softmax, one CTA per (query block, head, batch), walking the key blocks up to the diagonal
// (blocks wholly above it are skipped) with f32 running max, sum and output, then writing O and LSE.
// Query blocks are launched last-first: the long rows near the end of the sequence start first.
// - mma_forward_kernel (bf16, head_dim 64 or 128): 128 query rows, 8 warps of 16 rows; Q stays in
//   registers as mma fragments (head_dim 128), 64-key K/V tiles are double-buffered in shared memory through cp.async;
//   S = Q K^T and O += P V on mma.sync m16n8k16 (P goes from the S accumulators to A fragments without
//   touching shared memory).
// - generic_forward_kernel (f32 or bf16, any head_dim up to 256): 32 x 32 tiles of f32 in shared memory;
//   each warp scores and normalizes 4 query rows, each thread owns a fixed set of output elements.
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

// Shared memory: q, k, v tiles (32 x (head_dim + 1)), then the 32 x 33 probabilities, then per row the
// running max and sum (log2 units) and the last rescale factor.
template <typename T>
__global__ void __launch_bounds__(kGenericThreads)
    generic_forward_kernel(const T* __restrict__ qkv, T* __restrict__ out, float* __restrict__ lse, int64_t length,
                           int heads, int head_dim, float scale_log2) {
  extern __shared__ float smem[];
  const int st = head_dim + 1, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float *sq = smem, *sk = sq + kGenericRows * st, *sv = sk + kGenericRows * st, *sp = sv + kGenericRows * st;
  float *row_m = sp + kGenericRows * (kGenericRows + 1), *row_l = row_m + kGenericRows, *row_alpha = row_l + kGenericRows;
  const int qb = gridDim.x - 1 - blockIdx.x;
  const int64_t q0 = int64_t(qb) * kGenericRows;
  const HeadPtrs p = head_ptrs(blockIdx.z, blockIdx.y, length, heads, head_dim);
  load_rows(qkv + p.q, p.row_stride, q0, length, head_dim, sq);
  if (threadIdx.x < kGenericRows) row_m[threadIdx.x] = -INFINITY, row_l[threadIdx.x] = 0.0f;
  const int owned = kGenericRows * head_dim;
  float acc[kGenericOwned] = {};
  for (int kt = 0; kt <= qb; ++kt) {
    const int64_t k0 = int64_t(kt) * kGenericRows;
    __syncthreads();  // the previous tile's readers are done
    load_rows(qkv + p.k, p.row_stride, k0, length, head_dim, sk);
    load_rows(qkv + p.v, p.row_stride, k0, length, head_dim, sv);
    __syncthreads();
    // Warp w scores rows w, w + 8, ... against key `lane`, then updates their softmax state. Key k0 is
    // never masked for rows of this block (k0 <= q0 < length), so each row's max stays finite.
    for (int rr = 0; rr < kGenericRows / kGenericWarps; ++rr) {
      const int r = warp + kGenericWarps * rr;
      float s = 0.0f;
      for (int i = 0; i < head_dim; ++i) s += sq[r * st + i] * sk[lane * st + i];
      const int64_t key = k0 + lane;
      s = key > q0 + r || key >= length ? -INFINITY : s * scale_log2;
      const float m_old = row_m[r], m_new = fmaxf(m_old, warp_max(s));
      const float prob = exp2f(s - m_new), sum = warp_sum(prob);
      sp[r * (kGenericRows + 1) + lane] = prob;
      if (lane == 0) {
        const float alpha = exp2f(m_old - m_new);
        row_alpha[r] = alpha, row_l[r] = row_l[r] * alpha + sum, row_m[r] = m_new;
      }
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kGenericOwned; ++k) {
      const int e = threadIdx.x + kGenericThreads * k;
      if (e >= owned) break;
      const int r = e / head_dim, i = e % head_dim;
      float a = acc[k] * row_alpha[r];
      for (int j = 0; j < kGenericRows; ++j) a += sp[r * (kGenericRows + 1) + j] * sv[j * st + i];
      acc[k] = a;
    }
  }
#pragma unroll
  for (int k = 0; k < kGenericOwned; ++k) {
    const int e = threadIdx.x + kGenericThreads * k;
    if (e >= owned) break;
    const int r = e / head_dim, i = e % head_dim;
    if (q0 + r < length) out[p.o + (q0 + r) * p.out_stride + i] = from_float<T>(acc[k] / row_l[r]);
  }
  if (threadIdx.x < kGenericRows && q0 + threadIdx.x < length)
    lse[p.lse + q0 + threadIdx.x] = (row_m[threadIdx.x] + log2f(row_l[threadIdx.x])) * kLn2;
}

constexpr int kForwardRows = 2 * kTile;  // query rows per CTA of the tensor-core forward: 16 per warp

template <int kDh> constexpr size_t mma_forward_smem() {
  return size_t(kForwardRows + 4 * kTile) * kStride<kDh> * sizeof(bf16);  // Q, then K and V twice
}

// Warp w owns query rows row0 = q0 + 16 w .. row0 + 15. Per lane (g = lane / 4, t = lane % 4) it holds rows
// g and g + 8 of the warp's slice: o[n] columns 8n + 2t, +1 (as mma accumulators), the running max m
// (log2 units) and this lane's part of the running sum l (the quad's parts are added at the end).
template <int kDh>
__global__ void __launch_bounds__(kThreads, kDh == 64 ? 2 : 1)
    mma_forward_kernel(const bf16* __restrict__ qkv, bf16* __restrict__ out, float* __restrict__ lse, int64_t length,
                       int heads, float scale_log2) {
  constexpr int kS = kStride<kDh>, kKSteps = kDh / 16, kNd = kDh / 8, kNs = kTile / 8;
  extern __shared__ __align__(16) unsigned char smem_bytes[];
  bf16* sq = reinterpret_cast<bf16*>(smem_bytes);
  bf16 *sk = sq + kForwardRows * kS, *sv = sk + 2 * kTile * kS;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int qb = gridDim.x - 1 - blockIdx.x;
  const int64_t q0 = int64_t(qb) * kForwardRows, row0 = q0 + 16 * warp;
  const int n_tiles = int(min((q0 + kForwardRows + kTile - 1) / kTile, (length + kTile - 1) / kTile));
  const bf16 *kp, *vp;  // position 0's key and value vectors: all the loop needs of the layout
  int row_stride;
  {
    const HeadPtrs p = head_ptrs(blockIdx.z, blockIdx.y, length, heads, kDh);
    load_tile_async<kForwardRows, kDh>(sq, qkv + p.q, p.row_stride, q0, length);
    kp = qkv + p.k, vp = qkv + p.v, row_stride = int(p.row_stride);
  }
  load_tile_async<kTile, kDh>(sk, kp, row_stride, 0, length);
  load_tile_async<kTile, kDh>(sv, vp, row_stride, 0, length);
  cp_async_commit();

  // Q's fragments stay in registers for head_dim 128 (one CTA per SM either way); for 64 they are re-read
  // from shared memory each tile, which keeps the kernel at 128 registers: two CTAs per SM.
  constexpr bool kQInRegisters = kDh == 128;
  uint32_t qf[kQInRegisters ? kKSteps : 1][4];
  float o[kNd][4] = {};
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  for (int kt = 0; kt < n_tiles; ++kt) {
    const int buf = kt & 1;
    // Tile kt has landed, and every warp is past tile kt - 1, so its buffer may take tile kt + 1, which
    // then loads while this one is computed: one barrier per tile.
    cp_async_wait<0>();
    __syncthreads();
    if (kt + 1 < n_tiles) {
      load_tile_async<kTile, kDh>(sk + (buf ^ 1) * kTile * kS, kp, row_stride, int64_t(kt + 1) * kTile, length);
      load_tile_async<kTile, kDh>(sv + (buf ^ 1) * kTile * kS, vp, row_stride, int64_t(kt + 1) * kTile, length);
      cp_async_commit();
    }
    if (kQInRegisters && kt == 0)
#pragma unroll
      for (int ks = 0; ks < kKSteps; ++ks) ldmatrix_x4(qf[ks], frag_a(sq, kS, 16 * warp, 16 * ks, lane));
    const int64_t k0 = int64_t(kt) * kTile;
    // Tiles wholly after this warp's rows are skipped; the first is never (k0 = 0), so l ends positive, and
    // key k0 <= row0 is visible to every row of a tile that is not, so each row's max stays finite.
    if (k0 <= row0 + 15) {
      const bf16 *tk = sk + buf * kTile * kS, *tv = sv + buf * kTile * kS;
      float s[kNs][4] = {};
      // Unrolling the k-steps of Q from shared memory hoists every step's loads: over 128 registers.
#pragma unroll(kQInRegisters ? kKSteps : 1)
      for (int ks = 0; ks < kKSteps; ++ks) {
        uint32_t a[4];
        if constexpr (kQInRegisters) {
#pragma unroll
          for (int i = 0; i < 4; ++i) a[i] = qf[ks][i];
        } else {
          ldmatrix_x4(a, frag_a(sq, kS, 16 * warp, 16 * ks, lane));
        }
#pragma unroll
        for (int np = 0; np < kNs / 2; ++np) {
          uint32_t b[4];
          ldmatrix_x4(b, frag_b_nmajor(tk, kS, 16 * np, 16 * ks, lane));
          mma(s[2 * np], a, b[0], b[1]);
          mma(s[2 * np + 1], a, b[2], b[3]);
        }
      }
      // In tile coordinates: key j is masked for row r (of the warp) when j > r + diag or j >= end.
      const int diag = int(row0 - k0), end = length - k0 < kTile ? int(length - k0) : kTile;
      const bool masked = kTile - 1 > diag || end < kTile;
#pragma unroll
      for (int n = 0; n < kNs; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int j = 8 * n + 2 * t + (e & 1), r = g + 8 * (e >> 1);
          s[n][e] = masked && (j > r + diag || j >= end) ? -INFINITY : s[n][e] * scale_log2;
        }
#pragma unroll
      for (int hr = 0; hr < 2; ++hr) {  // row g (hr 0) and g + 8 (hr 1): elements 2 hr and 2 hr + 1
        float mx = m[hr];
#pragma unroll
        for (int n = 0; n < kNs; ++n) mx = fmaxf(mx, fmaxf(s[n][2 * hr], s[n][2 * hr + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float alpha = exp2f(m[hr] - mx);
        m[hr] = mx;
        float sum = 0.0f;
#pragma unroll
        for (int n = 0; n < kNs; ++n) {
          s[n][2 * hr] = exp2f(s[n][2 * hr] - mx);
          s[n][2 * hr + 1] = exp2f(s[n][2 * hr + 1] - mx);
          sum += s[n][2 * hr] + s[n][2 * hr + 1];
        }
        l[hr] = l[hr] * alpha + sum;
#pragma unroll
        for (int n = 0; n < kNd; ++n) o[n][2 * hr] *= alpha, o[n][2 * hr + 1] *= alpha;
      }
#pragma unroll
      for (int kk = 0; kk < kTile / 16; ++kk) {  // keys 16 kk .. 16 kk + 15: S tiles 2 kk and 2 kk + 1
        const uint32_t a[4] = {pack_bf16(s[2 * kk][0], s[2 * kk][1]), pack_bf16(s[2 * kk][2], s[2 * kk][3]),
                               pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                               pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
        for (int np = 0; np < kNd / 2; ++np) {
          uint32_t b[4];
          ldmatrix_x4_trans(b, frag_a(tv, kS, 16 * kk, 16 * np, lane));
          mma(o[2 * np], a, b[0], b[1]);
          mma(o[2 * np + 1], a, b[2], b[3]);
        }
      }
    }
  }

  // Normalize, stage the warp's 16 rows in its own rows of the Q tile (which only this warp reads),
  // then store them as 16-byte vectors.
  const HeadPtrs p = head_ptrs(blockIdx.z, blockIdx.y, length, heads, kDh);
  bf16* so = sq + 16 * warp * kS;
#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    l[hr] += __shfl_xor_sync(0xffffffffu, l[hr], 1);
    l[hr] += __shfl_xor_sync(0xffffffffu, l[hr], 2);
    const float inv = 1.0f / l[hr];
#pragma unroll
    for (int n = 0; n < kNd; ++n)
      *reinterpret_cast<uint32_t*>(so + (g + 8 * hr) * kS + 8 * n + 2 * t) =
          pack_bf16(o[n][2 * hr] * inv, o[n][2 * hr + 1] * inv);
    const int64_t row = row0 + g + 8 * hr;
    if (t == 0 && row < length) lse[p.lse + row] = (m[hr] + log2f(l[hr])) * kLn2;
  }
  __syncwarp();
  for (int c = lane; c < 16 * kDh / 8; c += 32) {
    const int r = c / (kDh / 8), col = (c % (kDh / 8)) * 8;
    if (row0 + r < length)
      *reinterpret_cast<uint4*>(out + p.o + (row0 + r) * p.out_stride + col) =
          *reinterpret_cast<const uint4*>(so + r * kS + col);
  }
}

template <int kDh>
void launch_mma_forward(const void* qkv, void* out, float* lse, int64_t batch, int64_t length, int64_t heads,
                        float scale_log2, cudaStream_t stream) {
  constexpr size_t smem = mma_forward_smem<kDh>();
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(mma_forward_kernel<kDh>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  const dim3 grid(unsigned((length + kForwardRows - 1) / kForwardRows), unsigned(heads), unsigned(batch));
  mma_forward_kernel<kDh><<<grid, kThreads, smem, stream>>>(static_cast<const bf16*>(qkv), static_cast<bf16*>(out),
                                                            lse, length, int(heads), scale_log2);
  KRAIT_CUDA_CHECK_LAUNCH("causal_attention mma_forward_kernel");
}

template <typename T>
void launch_generic_forward(const void* qkv, void* out, float* lse, int64_t batch, int64_t length, int64_t heads,
                            int64_t head_dim, float scale_log2, cudaStream_t stream) {
  const size_t smem =
      (3 * kGenericRows * size_t(head_dim + 1) + kGenericRows * (kGenericRows + 1) + 3 * kGenericRows) * sizeof(float);
  KRAIT_CUDA_CHECK(
      cudaFuncSetAttribute(generic_forward_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  const dim3 grid(unsigned((length + kGenericRows - 1) / kGenericRows), unsigned(heads), unsigned(batch));
  generic_forward_kernel<T><<<grid, kGenericThreads, smem, stream>>>(
      static_cast<const T*>(qkv), static_cast<T*>(out), lse, length, int(heads), int(head_dim), scale_log2);
  KRAIT_CUDA_CHECK_LAUNCH("causal_attention generic_forward_kernel");
}

}  // namespace

bool causal_attention_uses_tensor_cores(DType type, int64_t head_dim) {
  return type == DType::BF16 && (head_dim == 64 || head_dim == 128);
}

void causal_attention_forward(const void* qkv, DType type, void* out, float* lse, int64_t batch, int64_t length,
                              int64_t heads, int64_t head_dim, cudaStream_t stream) {
  check_args("cuda causal_attention_forward", type, batch, length, heads, head_dim);
  if (batch == 0 || length == 0) return;
  const float scale_log2 = kLog2e / std::sqrt(float(head_dim));
  if (causal_attention_uses_tensor_cores(type, head_dim) && aligned16(qkv) && aligned16(out)) {
    if (head_dim == 64) launch_mma_forward<64>(qkv, out, lse, batch, length, heads, scale_log2, stream);
    else launch_mma_forward<128>(qkv, out, lse, batch, length, heads, scale_log2, stream);
  } else if (type == DType::F32) {
    launch_generic_forward<float>(qkv, out, lse, batch, length, heads, head_dim, scale_log2, stream);
  } else {
    launch_generic_forward<__nv_bfloat16>(qkv, out, lse, batch, length, heads, head_dim, scale_log2, stream);
  }
}

}  // namespace krait::kernels::cuda
