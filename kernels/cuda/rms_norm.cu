// kernels/cuda/rms_norm.cu — fused residual-add + RMSNorm forward and backward (see rms_norm.h). Each thread
// of a block owns the same packs of V columns in every row it visits: forward takes one row per block;
// backward takes a fixed chunk of rows per block and also sums the weight gradient of its columns in shared
// memory, which a second kernel adds up over the chunks in order. The derivation is in kernels/cpu/rms_norm.cpp.
#include "kernels/cuda/rms_norm.h"

#include <cuda_bf16.h>

#include <algorithm>

#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda {
namespace {
using numeric::to_float;
using numeric::from_float;
using numeric::Pack;

constexpr int kMaxThreads = 256;
constexpr int64_t kMaxBackwardBlocks = 1024;  // row chunks, and rows of weight-gradient partial sums
constexpr int kPack = 4;

// Pack i of a row as f32 values, and its store.
template <int V, typename T> __device__ Pack<float, V> load(const T* row, int64_t i) {
  const Pack<T, V> p = reinterpret_cast<const Pack<T, V>*>(row)[i];
  Pack<float, V> f;
#pragma unroll
  for (int j = 0; j < V; ++j) f.v[j] = to_float(p.v[j]);
  return f;
}
template <int V, typename T> __device__ void store(T* row, int64_t i, const Pack<float, V>& f) {
  Pack<T, V> p;
#pragma unroll
  for (int j = 0; j < V; ++j) p.v[j] = from_float<T>(f.v[j]);
  reinterpret_cast<Pack<T, V>*>(row)[i] = p;
}

// The sum of v over the block in a fixed order, returned to every thread.
__device__ float block_sum(float v) {
  __shared__ float warp_sums[kMaxThreads / 32];
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  __syncthreads();  // the previous call's readers are done with warp_sums
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < int(blockDim.x / 32); ++w) total += warp_sums[w];
  return total;
}

template <typename TX, typename TY, int V>
__global__ void __launch_bounds__(kMaxThreads)
    forward_kernel(const TX* __restrict__ x, const float* __restrict__ residual, const float* __restrict__ weight,
                   float eps, float* __restrict__ residual_out, TY* __restrict__ y, float* __restrict__ rstd,
                   int64_t dim) {
  const int64_t r = blockIdx.x, packs = dim / V, offset = r * dim;
  auto load_h = [&](int64_t i) {
    Pack<float, V> h = load<V>(x + offset, i);
    if (residual) {
      const Pack<float, V> res = load<V>(residual + offset, i);
#pragma unroll
      for (int j = 0; j < V; ++j) h.v[j] += res.v[j];
    }
    return h;
  };
  float squares = 0.0f;
  for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
    const Pack<float, V> h = load_h(i);
    if (residual_out) store<V>(residual_out + offset, i, h);
#pragma unroll
    for (int j = 0; j < V; ++j) squares += h.v[j] * h.v[j];
  }
  const float s = 1.0f / sqrtf(block_sum(squares) / float(dim) + eps);
  if (threadIdx.x == 0) rstd[r] = s;
  for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
    Pack<float, V> out = load_h(i);  // this thread's own reads again, from cache
    const Pack<float, V> w = load<V>(weight, i);
#pragma unroll
    for (int j = 0; j < V; ++j) out.v[j] = out.v[j] * s * w.v[j];
    store<V>(y + offset, i, out);
  }
}

// Rows [blockIdx.x * rows_per_block, +rows_per_block). partial (gridDim.x, dim) or null; the dynamic shared
// memory holds dim floats when it is not.
template <typename TH, typename TY, typename TX, int V>
__global__ void __launch_bounds__(kMaxThreads)
    backward_kernel(const TH* __restrict__ h, const float* __restrict__ weight, const float* __restrict__ rstd,
                    const TY* __restrict__ grad_y, const float* __restrict__ grad_residual_out, TX* __restrict__ grad_x,
                    float* __restrict__ grad_residual, float* __restrict__ partial, int64_t rows, int64_t dim,
                    int64_t rows_per_block) {
  extern __shared__ float weight_sums[];  // column sums of grad_y * h * rstd over this block's rows
  const int64_t packs = dim / V;
  const bool want_grad_h = grad_x || grad_residual;
  if (partial)
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x)
      for (int j = 0; j < V; ++j) weight_sums[i * V + j] = 0.0f;
  const int64_t row_begin = blockIdx.x * rows_per_block, row_end = std::min(rows, row_begin + rows_per_block);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t offset = r * dim;
    const float s = rstd[r];
    float c = 0.0f;
    if (want_grad_h) {
      float dot = 0.0f;
      for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
        const Pack<float, V> g = load<V>(grad_y + offset, i), w = load<V>(weight, i), hv = load<V>(h + offset, i);
#pragma unroll
        for (int j = 0; j < V; ++j) dot += g.v[j] * w.v[j] * hv.v[j];
      }
      c = s * s * block_sum(dot) / float(dim);
    }
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
      const Pack<float, V> g = load<V>(grad_y + offset, i), hv = load<V>(h + offset, i);
      if (partial) {
#pragma unroll
        for (int j = 0; j < V; ++j) weight_sums[i * V + j] += g.v[j] * hv.v[j] * s;
      }
      if (!want_grad_h) continue;
      const Pack<float, V> w = load<V>(weight, i);
      Pack<float, V> gh;
#pragma unroll
      for (int j = 0; j < V; ++j) gh.v[j] = s * (g.v[j] * w.v[j] - hv.v[j] * c);
      if (grad_residual_out) {
        const Pack<float, V> extra = load<V>(grad_residual_out + offset, i);
#pragma unroll
        for (int j = 0; j < V; ++j) gh.v[j] += extra.v[j];
      }
      if (grad_x) store<V>(grad_x + offset, i, gh);
      if (grad_residual) store<V>(grad_residual + offset, i, gh);
    }
  }
  if (partial)
    for (int64_t i = threadIdx.x; i < packs; i += blockDim.x)
      for (int j = 0; j < V; ++j) partial[blockIdx.x * dim + i * V + j] = weight_sums[i * V + j];
}

__global__ void sum_partials_kernel(const float* __restrict__ partial, float* __restrict__ grad_weight,
                                    int64_t blocks, int64_t dim) {
  const int64_t col = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (col >= dim) return;
  float total = 0.0f;
  for (int64_t b = 0; b < blocks; ++b) total += partial[b * dim + col];
  grad_weight[col] = total;
}

struct RowChunks {
  int64_t rows_per_block, blocks;
};
RowChunks row_chunks(int64_t rows) {
  const int64_t rows_per_block = (rows + kMaxBackwardBlocks - 1) / kMaxBackwardBlocks;
  return {rows_per_block, (rows + rows_per_block - 1) / rows_per_block};
}

// Threads for rows of `packs` packs: whole warps, at most kMaxThreads.
int threads_for(int64_t packs) { return int(std::min<int64_t>(kMaxThreads, (packs + 31) / 32 * 32)); }

bool pack_aligned(const void* p, DType type) {
  return reinterpret_cast<uintptr_t>(p) % (dtype_size(type) * kPack) == 0;
}

void check_type(DType type, const char* what) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, "cuda rms_norm: ", what, " must be f32 or bf16, got ",
              dtype_name(type));
}

// Calls f(T{}) with float or __nv_bfloat16 for type.
template <typename F> void with_type(DType type, F&& f) {
  if (type == DType::F32) f(float{});
  else f(__nv_bfloat16{});
}

}  // namespace

void rms_norm_forward(const void* x, DType x_type, const float* residual, const float* weight, float eps,
                      float* residual_out, void* y, DType y_type, float* rstd, int64_t rows, int64_t dim,
                      cudaStream_t stream) {
  check_type(x_type, "x");
  check_type(y_type, "y");
  KRAIT_CHECK(dim > 0 && rows <= INT32_MAX, "cuda rms_norm_forward: bad shape (", rows, ", ", dim, ")");
  if (rows == 0) return;
  const bool packed = dim % kPack == 0 && pack_aligned(x, x_type) && pack_aligned(y, y_type) &&
                      pack_aligned(residual, DType::F32) && pack_aligned(residual_out, DType::F32) &&
                      pack_aligned(weight, DType::F32);
  with_type(x_type, [&](auto x_tag) {
    with_type(y_type, [&](auto y_tag) {
      using TX = decltype(x_tag);
      using TY = decltype(y_tag);
      const auto* xp = static_cast<const TX*>(x);
      auto* yp = static_cast<TY*>(y);
      if (packed)
        forward_kernel<TX, TY, kPack><<<rows, threads_for(dim / kPack), 0, stream>>>(xp, residual, weight, eps,
                                                                                      residual_out, yp, rstd, dim);
      else
        forward_kernel<TX, TY, 1><<<rows, threads_for(dim), 0, stream>>>(xp, residual, weight, eps, residual_out, yp,
                                                                        rstd, dim);
      KRAIT_CUDA_CHECK_LAUNCH("rms_norm forward_kernel");
    });
  });
}

size_t rms_norm_backward_workspace_bytes(int64_t rows, int64_t dim) {
  return rows > 0 ? size_t(row_chunks(rows).blocks * dim) * sizeof(float) : 0;
}

void rms_norm_backward(const void* h, DType h_type, const float* weight, const float* rstd, const void* grad_y,
                       DType y_type, const float* grad_residual_out, void* grad_x, DType x_type, float* grad_residual,
                       float* grad_weight, void* workspace, int64_t rows, int64_t dim, cudaStream_t stream) {
  check_type(h_type, "h");
  check_type(y_type, "grad_y");
  check_type(x_type, "grad_x");
  KRAIT_CHECK(dim > 0, "cuda rms_norm_backward: bad dim ", dim);
  if (grad_weight && rows == 0) KRAIT_CUDA_CHECK(cudaMemsetAsync(grad_weight, 0, size_t(dim) * sizeof(float), stream));
  if (rows == 0) return;
  KRAIT_CHECK(!grad_weight || workspace, "cuda rms_norm_backward: grad_weight needs a workspace");
  const RowChunks chunks = row_chunks(rows);
  float* partial = grad_weight ? static_cast<float*>(workspace) : nullptr;
  const bool packed = dim % kPack == 0 && pack_aligned(h, h_type) && pack_aligned(grad_y, y_type) &&
                      pack_aligned(grad_x, x_type) && pack_aligned(weight, DType::F32) &&
                      pack_aligned(grad_residual_out, DType::F32) && pack_aligned(grad_residual, DType::F32);
  const size_t shared_bytes = partial ? size_t(dim) * sizeof(float) : 0;
  with_type(h_type, [&](auto h_tag) {
    with_type(y_type, [&](auto y_tag) {
      with_type(x_type, [&](auto x_tag) {
        using TH = decltype(h_tag);
        using TY = decltype(y_tag);
        using TX = decltype(x_tag);
        const auto kernel = packed ? backward_kernel<TH, TY, TX, kPack> : backward_kernel<TH, TY, TX, 1>;
        if (shared_bytes > 48 * 1024)
          KRAIT_CUDA_CHECK(
              cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(shared_bytes)));
        kernel<<<chunks.blocks, threads_for(packed ? dim / kPack : dim), shared_bytes, stream>>>(
            static_cast<const TH*>(h), weight, rstd, static_cast<const TY*>(grad_y), grad_residual_out,
            static_cast<TX*>(grad_x), grad_residual, partial, rows, dim, chunks.rows_per_block);
        KRAIT_CUDA_CHECK_LAUNCH("rms_norm backward_kernel");
      });
    });
  });
  if (!grad_weight) return;
  sum_partials_kernel<<<(dim + 255) / 256, 256, 0, stream>>>(partial, grad_weight, chunks.blocks, dim);
  KRAIT_CUDA_CHECK_LAUNCH("rms_norm sum_partials_kernel");
}

}  // namespace krait::kernels::cuda
