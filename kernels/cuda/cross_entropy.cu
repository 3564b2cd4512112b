// kernels/cuda/cross_entropy.cu — fused softmax cross-entropy forward, loss reduction and backward, and the
// target check (see cross_entropy.h). One block per row of logits; each thread keeps a running maximum and
// a sum of exponentials relative to it (the online softmax) over 16-byte packs of the row, and the block
// merges those pairs in a fixed order, so the logits are read once.
#include "kernels/cuda/cross_entropy.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda {
namespace {
using numeric::to_float;
using numeric::from_float;
using numeric::Pack;

constexpr int kThreads = 256;

// sum_i exp(x_i) = s * exp(m): a running maximum m and the sum s of exp(x_i - m). __expf's relative error
// stays near 1e-6 for the arguments here (x_i - m <= 0 and those that matter not far below).
struct MaxSum {
  float m, s;
};

__device__ MaxSum merge(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.m, b.m);
  if (m == -INFINITY) return {m, 0.0f};
  return {m, a.s * __expf(a.m - m) + b.s * __expf(b.m - m)};
}

// The block's merge of every thread's pair, valid in thread 0; lanes and then warps are merged in a fixed order.
__device__ MaxSum block_merge(MaxSum v) {
  __shared__ MaxSum warp_results[kThreads / 32];
  for (int offset = 16; offset > 0; offset >>= 1)
    v = merge(v, {__shfl_down_sync(0xffffffffu, v.m, offset), __shfl_down_sync(0xffffffffu, v.s, offset)});
  if (threadIdx.x % 32 == 0) warp_results[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x == 0)
    for (int w = 1; w < kThreads / 32; ++w) v = merge(v, warp_results[w]);
  return v;
}

template <typename T> __device__ T block_sum(T v) {  // valid in thread 0
  __shared__ T warp_sums[kThreads / 32];
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x == 0)
    for (int w = 1; w < kThreads / 32; ++w) v += warp_sums[w];
  return v;
}

template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(const T* __restrict__ logits, const int64_t* __restrict__ targets, float* __restrict__ loss,
                   float* __restrict__ lse, int64_t width, int64_t classes, int64_t ignore_index) {
  const int64_t r = blockIdx.x;
  const T* row = logits + r * width;
  MaxSum acc{-INFINITY, 0.0f};
  // Packs past the classes are skipped; a pack that straddles them reads its padded columns as -inf.
  for (int64_t i = threadIdx.x; i < (classes + V - 1) / V; i += kThreads) {
    const Pack<T, V> p = reinterpret_cast<const Pack<T, V>*>(row)[i];
    float x[V], pack_max = -INFINITY;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      x[j] = i * V + j < classes ? to_float(p.v[j]) : -INFINITY;
      pack_max = fmaxf(pack_max, x[j]);
    }
    if (pack_max > acc.m) {
      acc.s *= __expf(acc.m - pack_max);
      acc.m = pack_max;
    }
#pragma unroll
    for (int j = 0; j < V; ++j) acc.s += __expf(x[j] - acc.m);
  }
  acc = block_merge(acc);
  if (threadIdx.x != 0) return;
  const float row_lse = acc.m + logf(acc.s);
  lse[r] = row_lse;
  const int64_t t = targets[r];
  loss[r] = t == ignore_index ? 0.0f : t >= 0 && t < classes ? row_lse - to_float(row[t]) : NAN;
}

template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(const T* __restrict__ logits, const int64_t* __restrict__ targets, const float* __restrict__ lse,
                    const float* __restrict__ grad_loss, const int64_t* __restrict__ kept, T* __restrict__ grad,
                    int64_t width, int64_t classes, int64_t ignore_index) {
  const float scale = !kept ? *grad_loss : *kept > 0 ? float(double(*grad_loss) / double(*kept)) : 0.0f;
  const int64_t r = blockIdx.x, t = targets[r];
  const bool ignored = t == ignore_index;
  const float row_lse = lse[r];
  const auto* row = reinterpret_cast<const Pack<T, V>*>(logits + r * width);
  auto* out = reinterpret_cast<Pack<T, V>*>(grad + r * width);
  for (int64_t i = threadIdx.x; i < width / V; i += kThreads) {
    Pack<T, V> g;
    if (ignored) {
#pragma unroll
      for (int j = 0; j < V; ++j) g.v[j] = from_float<T>(0.0f);
    } else {
      const Pack<T, V> p = row[i];
#pragma unroll
      for (int j = 0; j < V; ++j) {
        const float d = i * V + j < classes ? scale * __expf(to_float(p.v[j]) - row_lse) : 0.0f;
        g.v[j] = from_float<T>(i * V + j == t ? d - scale : d);
      }
    }
    out[i] = g;
  }
}

__global__ void __launch_bounds__(kThreads)
    reduce_kernel(const float* __restrict__ loss, const int64_t* __restrict__ targets, int64_t rows,
                  int64_t ignore_index, bool mean, float* __restrict__ total, int64_t* __restrict__ kept) {
  double sum = 0.0;
  long long count = 0;
  for (int64_t r = threadIdx.x; r < rows; r += kThreads) {
    if (targets[r] == ignore_index) continue;
    sum += loss[r];
    ++count;
  }
  sum = block_sum(sum);
  count = block_sum(count);
  if (threadIdx.x != 0) return;
  *total = float(mean ? (count > 0 ? sum / double(count) : 0.0) : sum);
  if (kept) *kept = count;
}

__global__ void first_invalid_kernel(const int64_t* __restrict__ targets, int64_t rows, int64_t classes,
                                     int64_t ignore_index, unsigned long long* first) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = targets[r];
    if (t != ignore_index && (t < 0 || t >= classes)) atomicMin(first, static_cast<unsigned long long>(r));
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

void check_args(DType type, int64_t rows, int64_t width, int64_t classes, const char* op) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, op, ": logits must be f32 or bf16, got ", dtype_name(type));
  KRAIT_CHECK(classes > 0 && classes <= width, op, ": classes must be in [1, ", width, "], got ", classes);
  KRAIT_CHECK(rows <= INT32_MAX, op, ": ", rows, " rows are more than one launch takes");
}

// An element type and a pack width, passed to a generic lambda.
template <typename T, int V> struct Layout {
  using Type = T;
  static constexpr int kWidth = V;
};

// Calls launch(Layout<T, V>{}) with the element type and V = 16 bytes of elements when the rows are whole
// 16-byte packs and both pointers are 16-byte aligned, else V = 1.
template <typename Launch> void dispatch(DType type, int64_t width, const void* a, const void* b, Launch&& launch) {
  const int64_t pack = 16 / int64_t(dtype_size(type));
  const bool packed = width % pack == 0 && aligned16(a) && aligned16(b);
  if (type == DType::F32) return packed ? launch(Layout<float, 4>{}) : launch(Layout<float, 1>{});
  return packed ? launch(Layout<__nv_bfloat16, 8>{}) : launch(Layout<__nv_bfloat16, 1>{});
}

}  // namespace

void find_first_invalid_target(const int64_t* targets, int64_t rows, int64_t classes, int64_t ignore_index,
                               int64_t* first, cudaStream_t stream) {
  // All bits set reads as -1 and as the largest unsigned value, which atomicMin lowers to the first bad row.
  KRAIT_CUDA_CHECK(cudaMemsetAsync(first, 0xff, sizeof(int64_t), stream));
  if (rows == 0) return;
  const int64_t blocks = std::min<int64_t>((rows + kThreads - 1) / kThreads, 1024);
  first_invalid_kernel<<<blocks, kThreads, 0, stream>>>(targets, rows, classes, ignore_index,
                                                        reinterpret_cast<unsigned long long*>(first));
  KRAIT_CUDA_CHECK_LAUNCH("cross_entropy first_invalid_kernel");
}

void cross_entropy_forward(const void* logits, DType type, const int64_t* targets, float* loss, float* lse,
                           int64_t rows, int64_t width, int64_t classes, int64_t ignore_index, cudaStream_t stream) {
  check_args(type, rows, width, classes, "cuda cross_entropy_forward");
  if (rows == 0) return;
  dispatch(type, width, logits, logits, [&](auto layout) {
    using T = typename decltype(layout)::Type;
    forward_kernel<T, decltype(layout)::kWidth><<<rows, kThreads, 0, stream>>>(
        static_cast<const T*>(logits), targets, loss, lse, width, classes, ignore_index);
    KRAIT_CUDA_CHECK_LAUNCH("cross_entropy forward_kernel");
  });
}

void cross_entropy_reduce(const float* loss, const int64_t* targets, int64_t rows, int64_t ignore_index, bool mean,
                          float* total, int64_t* kept, cudaStream_t stream) {
  reduce_kernel<<<1, kThreads, 0, stream>>>(loss, targets, rows, ignore_index, mean, total, kept);
  KRAIT_CUDA_CHECK_LAUNCH("cross_entropy reduce_kernel");
}

void cross_entropy_backward(const void* logits, DType type, const int64_t* targets, const float* lse,
                            const float* grad_loss, const int64_t* kept, void* grad_logits, int64_t rows, int64_t width,
                            int64_t classes, int64_t ignore_index, cudaStream_t stream) {
  check_args(type, rows, width, classes, "cuda cross_entropy_backward");
  if (rows == 0) return;
  dispatch(type, width, logits, grad_logits, [&](auto layout) {
    using T = typename decltype(layout)::Type;
    backward_kernel<T, decltype(layout)::kWidth><<<rows, kThreads, 0, stream>>>(
        static_cast<const T*>(logits), targets, lse, grad_loss, kept, static_cast<T*>(grad_logits), width, classes,
        ignore_index);
    KRAIT_CUDA_CHECK_LAUNCH("cross_entropy backward_kernel");
  });
}

}  // namespace krait::kernels::cuda
