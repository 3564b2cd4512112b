// kernels/cuda/moe.cu — softmax, routing and the token <-> expert row gathers (see moe.h). Warp-per-row
// kernels reduce with a butterfly of shuffles (every lane ends with the same sum, in a fixed order); the
// gathers read 16-byte packs of a row where the row length and the pointers allow, else one element at a time.
#include "kernels/cuda/moe.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <initializer_list>

#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda {
namespace {
using numeric::from_float;
using numeric::Pack;
using numeric::to_float;

constexpr int kWarps = 8;                 // warp-per-row kernels: rows per block
constexpr int kWarpThreads = 32 * kWarps;
constexpr int kRowThreads = 128;          // block-per-row gathers
constexpr int kThreads = 256;             // one thread per element
constexpr int64_t kMaxBlocks = 4096;
constexpr int kScanThreads = 512;         // routing's per-expert prefix count: 2048 choices per step
constexpr int kScanItems = 4;

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// ---- softmax: one warp per row ----

template <typename T>
__global__ void __launch_bounds__(kWarpThreads)
    softmax_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t width) {
  const int64_t r = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (r >= rows) return;  // the whole warp leaves together
  const int lane = threadIdx.x % 32;
  const T* in = x + r * width;
  float m = -INFINITY;
  for (int64_t j = lane; j < width; j += 32) m = fmaxf(m, to_float(in[j]));
  m = warp_max(m);
  float sum = 0.0f;
  for (int64_t j = lane; j < width; j += 32) sum += expf(to_float(in[j]) - m);
  sum = warp_sum(sum);
  for (int64_t j = lane; j < width; j += 32) y[r * width + j] = from_float<T>(expf(to_float(in[j]) - m) / sum);
}

template <typename T>
__global__ void __launch_bounds__(kWarpThreads)
    softmax_backward_kernel(const T* __restrict__ y, const T* __restrict__ gy, T* __restrict__ gx, int64_t rows,
                            int64_t width) {
  const int64_t r = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (r >= rows) return;
  const int lane = threadIdx.x % 32;
  const T* p = y + r * width;
  const T* g = gy + r * width;
  float dot = 0.0f;
  for (int64_t j = lane; j < width; j += 32) dot += to_float(g[j]) * to_float(p[j]);
  dot = warp_sum(dot);
  for (int64_t j = lane; j < width; j += 32) gx[r * width + j] = from_float<T>(to_float(p[j]) * (to_float(g[j]) - dot));
}

// ---- routing ----

// The order of cpu::route_experts: NaN ranks lowest; (v, i) before (w, j) when larger, or equal with a lower index.
__device__ __forceinline__ float rank_key(float v) { return v != v ? -INFINITY : v; }
__device__ __forceinline__ bool ranks_before(float v, int64_t i, float w, int64_t j) {
  return v > w || (v == w && i < j);
}

// One thread per token: choice c is the best expert ranking after choice c - 1.
__global__ void __launch_bounds__(kThreads)
    top_k_kernel(const float* __restrict__ probs, int32_t* __restrict__ expert, int64_t tokens, int64_t experts,
                 int64_t k) {
  const int64_t t = blockIdx.x * int64_t(kThreads) + threadIdx.x;
  if (t >= tokens) return;
  const float* row = probs + t * experts;
  int64_t prev = -1;
  float prev_v = 0.0f;
  for (int64_t c = 0; c < k; ++c) {
    int64_t best = -1;
    float best_v = 0.0f;
    for (int64_t e = 0; e < experts; ++e) {
      const float v = rank_key(row[e]);
      if (prev >= 0 && !ranks_before(prev_v, prev, v, e)) continue;
      if (best < 0 || ranks_before(v, e, best_v, best)) best = e, best_v = v;
    }
    expert[t * k + c] = int32_t(best);
    prev = best, prev_v = best_v;
  }
}

// One block per expert e walks the T * k choices in priority order (p = c * T + t), kScanThreads * kScanItems
// at a time; a block-wide exclusive sum over "chooses e" gives each of e's choices the number of earlier
// ones, its slot. source must be all -1 beforehand; only rows below the capacity are written.
__global__ void __launch_bounds__(kScanThreads)
    slots_kernel(const int32_t* __restrict__ expert, int32_t* __restrict__ slot, int32_t* __restrict__ source,
                 float* __restrict__ fraction, int32_t* __restrict__ load, int64_t tokens, int64_t k,
                 int64_t capacity) {
  using Scan = cub::BlockScan<int, kScanThreads>;
  using Reduce = cub::BlockReduce<int, kScanThreads>;
  __shared__ typename Scan::TempStorage scan_storage;
  __shared__ typename Reduce::TempStorage reduce_storage;
  const int e = blockIdx.x;
  const int64_t choices = tokens * k;
  int taken = 0;  // e's choices in the steps before this one (every thread holds it)
  int first = 0;  // e's first choices among this thread's
  for (int64_t base = 0; base < choices; base += kScanThreads * kScanItems) {
    int64_t index[kScanItems];
    int hit[kScanItems], rank[kScanItems];
#pragma unroll
    for (int j = 0; j < kScanItems; ++j) {
      const int64_t p = base + threadIdx.x * kScanItems + j;
      index[j] = p < choices ? (p % tokens) * k + p / tokens : -1;  // t * k + c
      hit[j] = index[j] >= 0 && expert[index[j]] == e;
      first += hit[j] && p < tokens;
    }
    int step_total;
    Scan(scan_storage).ExclusiveSum(hit, rank, step_total);
#pragma unroll
    for (int j = 0; j < kScanItems; ++j) {
      if (!hit[j]) continue;
      const int row = taken + rank[j];
      slot[index[j]] = row < capacity ? row : -1;
      if (row < capacity) source[e * capacity + row] = int32_t(index[j]);
    }
    taken += step_total;
    __syncthreads();  // scan_storage is reused by the next step
  }
  const int first_total = Reduce(reduce_storage).Sum(first);
  if (threadIdx.x != 0) return;
  fraction[e] = float(double(first_total) / double(tokens));  // as the CPU computes it, bit for bit
  load[e] = taken < capacity ? taken : int32_t(capacity);
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    gather_gates_kernel(const T* __restrict__ probs, const int32_t* __restrict__ expert, T* __restrict__ gates,
                        int64_t choices, int64_t experts, int64_t k) {
  for (int64_t i = blockIdx.x * int64_t(kThreads) + threadIdx.x; i < choices; i += int64_t(gridDim.x) * kThreads)
    gates[i] = probs[(i / k) * experts + expert[i]];
}

// One thread per element of grad_probs: the gradient of the choice that picked it, or zero.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    gather_gates_backward_kernel(const T* __restrict__ grad_gates, const int32_t* __restrict__ expert,
                                 T* __restrict__ grad_probs, int64_t tokens, int64_t experts, int64_t k) {
  for (int64_t n = blockIdx.x * int64_t(kThreads) + threadIdx.x; n < tokens * experts;
       n += int64_t(gridDim.x) * kThreads) {
    const int64_t t = n / experts, e = n % experts;
    T g = from_float<T>(0.0f);
    for (int64_t i = t * k; i < (t + 1) * k; ++i)
      if (expert[i] == e) g = grad_gates[i];
    grad_probs[n] = g;
  }
}

// ---- token <-> expert rows, V elements per pack ----

// One block per buffer row (e, s): scale * tokens[source / k], or zeros.
template <typename T, int V>
__global__ void __launch_bounds__(kRowThreads)
    tokens_to_experts_kernel(const T* __restrict__ tokens, const int32_t* __restrict__ source,
                             const T* __restrict__ gates, T* __restrict__ out, int64_t k, int64_t dim) {
  using P = Pack<T, V>;
  const int64_t r = blockIdx.x;
  const int32_t src = source[r];
  const float scale = src < 0 ? 0.0f : gates ? to_float(gates[src]) : 1.0f;
  const P* in = src < 0 ? nullptr : reinterpret_cast<const P*>(tokens + (src / k) * dim);
  P* o = reinterpret_cast<P*>(out + r * dim);
  for (int64_t j = threadIdx.x; j < dim / V; j += kRowThreads) {
    const P a = in ? in[j] : P{};  // zeros, and scale 0, for an empty row
    P v;
#pragma unroll
    for (int q = 0; q < V; ++q) v.v[q] = from_float<T>(scale * to_float(a.v[q]));
    o[j] = v;
  }
}

// One block per token t: the sum over its kept choices, in order, of scale * rows[expert, slot].
template <typename T, int V>
__global__ void __launch_bounds__(kRowThreads)
    experts_to_tokens_kernel(const T* __restrict__ rows, const int32_t* __restrict__ expert,
                             const int32_t* __restrict__ slot, const T* __restrict__ gates, T* __restrict__ out,
                             int64_t k, int64_t capacity, int64_t dim) {
  using P = Pack<T, V>;
  const int64_t t = blockIdx.x;
  P* o = reinterpret_cast<P*>(out + t * dim);
  for (int64_t j = threadIdx.x; j < dim / V; j += kRowThreads) {
    float acc[V] = {};
    for (int64_t i = t * k; i < (t + 1) * k; ++i) {
      const int32_t s = slot[i];
      if (s < 0) continue;
      const float scale = gates ? to_float(gates[i]) : 1.0f;
      const P v = reinterpret_cast<const P*>(rows + (int64_t(expert[i]) * capacity + s) * dim)[j];
#pragma unroll
      for (int q = 0; q < V; ++q) acc[q] += scale * to_float(v.v[q]);
    }
    P v;
#pragma unroll
    for (int q = 0; q < V; ++q) v.v[q] = from_float<T>(acc[q]);
    o[j] = v;
  }
}

// One warp per choice i = t * k + c: dot(y[expert, slot], grad_out[t]), 0 when dropped.
template <typename T, int V>
__global__ void __launch_bounds__(kWarpThreads)
    combine_gates_backward_kernel(const T* __restrict__ y, const T* __restrict__ grad_out,
                                  const int32_t* __restrict__ expert, const int32_t* __restrict__ slot,
                                  T* __restrict__ grad_gates, int64_t choices, int64_t k, int64_t capacity,
                                  int64_t dim) {
  using P = Pack<T, V>;
  const int64_t i = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (i >= choices) return;  // the whole warp leaves together
  const int lane = threadIdx.x % 32;
  const int32_t s = slot[i];
  float dot = 0.0f;
  if (s >= 0) {
    const P* a = reinterpret_cast<const P*>(y + (int64_t(expert[i]) * capacity + s) * dim);
    const P* b = reinterpret_cast<const P*>(grad_out + (i / k) * dim);
    for (int64_t j = lane; j < dim / V; j += 32) {
      const P pa = a[j], pb = b[j];
#pragma unroll
      for (int q = 0; q < V; ++q) dot += to_float(pa.v[q]) * to_float(pb.v[q]);
    }
  }
  dot = warp_sum(dot);
  if (lane == 0) grad_gates[i] = from_float<T>(dot);
}

// ---- launches ----

// An element type and a pack width, passed to a generic lambda.
template <typename T, int V> struct Layout {
  using Type = T;
  static constexpr int kWidth = V;
};

void check_type(const char* op, DType type) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, "cuda ", op, ": f32 or bf16 expected, got ",
              dtype_name(type));
}

// Calls launch(Layout<T, 1>{}) with the element type.
template <typename Launch> void dispatch(const char* op, DType type, Launch&& launch) {
  check_type(op, type);
  if (type == DType::F32) return launch(Layout<float, 1>{});
  launch(Layout<__nv_bfloat16, 1>{});
}

// Calls launch(Layout<T, V>{}) with V = 16 bytes of elements when rows of `dim` are whole 16-byte packs and
// every row buffer is 16-byte aligned, else V = 1.
template <typename Launch>
void dispatch_rows(const char* op, DType type, int64_t dim, std::initializer_list<const void*> buffers,
                   Launch&& launch) {
  check_type(op, type);
  bool packed = dim % (16 / int64_t(dtype_size(type))) == 0;
  for (const void* b : buffers) packed = packed && reinterpret_cast<uintptr_t>(b) % 16 == 0;
  if (type == DType::F32) return packed ? launch(Layout<float, 4>{}) : launch(Layout<float, 1>{});
  return packed ? launch(Layout<__nv_bfloat16, 8>{}) : launch(Layout<__nv_bfloat16, 1>{});
}

// Blocks for one block per row (a grid's x extent is below 2^31).
unsigned row_blocks(const char* op, int64_t rows) {
  KRAIT_CHECK(rows <= INT_MAX, "cuda ", op, ": ", rows, " rows are more than one launch takes");
  return unsigned(rows);
}
unsigned warp_row_blocks(const char* op, int64_t rows) { return row_blocks(op, (rows + kWarps - 1) / kWarps); }
unsigned stride_blocks(int64_t n) { return unsigned(std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks)); }

}  // namespace

void softmax_forward(const void* x, void* y, DType type, int64_t rows, int64_t width, cudaStream_t stream) {
  if (rows * width == 0) return;
  dispatch("softmax_forward", type, [&](auto layout) {
    using T = typename decltype(layout)::Type;
    softmax_forward_kernel<T><<<warp_row_blocks("softmax_forward", rows), kWarpThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), rows, width);
    KRAIT_CUDA_CHECK_LAUNCH("moe softmax_forward_kernel");
  });
}

void softmax_backward(const void* y, const void* grad_y, void* grad_x, DType type, int64_t rows, int64_t width,
                      cudaStream_t stream) {
  if (rows * width == 0) return;
  dispatch("softmax_backward", type, [&](auto layout) {
    using T = typename decltype(layout)::Type;
    softmax_backward_kernel<T><<<warp_row_blocks("softmax_backward", rows), kWarpThreads, 0, stream>>>(
        static_cast<const T*>(y), static_cast<const T*>(grad_y), static_cast<T*>(grad_x), rows, width);
    KRAIT_CUDA_CHECK_LAUNCH("moe softmax_backward_kernel");
  });
}

void route_experts(const float* probs, int32_t* expert, int32_t* slot, int32_t* source, float* fraction,
                   int32_t* load, const MoeShape& shape, cudaStream_t stream) {
  const int64_t tokens = shape.tokens, experts = shape.experts, k = shape.top_k, capacity = shape.capacity;
  KRAIT_CHECK(tokens >= 1 && k >= 1 && k <= experts && capacity >= 1 && tokens * k <= INT_MAX &&
                  experts <= INT_MAX && capacity <= INT_MAX,
              "cuda route_experts: bad routing shape: ", tokens, " tokens, ", experts, " experts, top_k ", k,
              ", capacity ", capacity);
  KRAIT_CUDA_CHECK(cudaMemsetAsync(source, 0xff, experts * capacity * sizeof(int32_t), stream));  // all -1
  top_k_kernel<<<row_blocks("route_experts", (tokens + kThreads - 1) / kThreads), kThreads, 0, stream>>>(
      probs, expert, tokens, experts, k);
  KRAIT_CUDA_CHECK_LAUNCH("moe top_k_kernel");
  slots_kernel<<<unsigned(experts), kScanThreads, 0, stream>>>(expert, slot, source, fraction, load, tokens, k,
                                                               capacity);
  KRAIT_CUDA_CHECK_LAUNCH("moe slots_kernel");
}

void gather_gates(const void* probs, const int32_t* expert, void* gates, DType type, const MoeShape& shape,
                  cudaStream_t stream) {
  const int64_t choices = shape.tokens * shape.top_k;
  if (choices == 0) return;
  dispatch("gather_gates", type, [&](auto layout) {
    using T = typename decltype(layout)::Type;
    gather_gates_kernel<T><<<stride_blocks(choices), kThreads, 0, stream>>>(
        static_cast<const T*>(probs), expert, static_cast<T*>(gates), choices, shape.experts, shape.top_k);
    KRAIT_CUDA_CHECK_LAUNCH("moe gather_gates_kernel");
  });
}

void gather_gates_backward(const void* grad_gates, const int32_t* expert, void* grad_probs, DType type,
                           const MoeShape& shape, cudaStream_t stream) {
  if (shape.tokens * shape.experts == 0) return;
  dispatch("gather_gates_backward", type, [&](auto layout) {
    using T = typename decltype(layout)::Type;
    gather_gates_backward_kernel<T><<<stride_blocks(shape.tokens * shape.experts), kThreads, 0, stream>>>(
        static_cast<const T*>(grad_gates), expert, static_cast<T*>(grad_probs), shape.tokens, shape.experts,
        shape.top_k);
    KRAIT_CUDA_CHECK_LAUNCH("moe gather_gates_backward_kernel");
  });
}

void tokens_to_experts(const void* tokens, const int32_t* source, const void* gates, void* out, DType type,
                       const MoeShape& shape, int64_t dim, cudaStream_t stream) {
  const int64_t rows = shape.experts * shape.capacity;
  if (rows * dim == 0) return;
  dispatch_rows("tokens_to_experts", type, dim, {tokens, out}, [&](auto layout) {
    using T = typename decltype(layout)::Type;
    tokens_to_experts_kernel<T, decltype(layout)::kWidth>
        <<<row_blocks("tokens_to_experts", rows), kRowThreads, 0, stream>>>(
            static_cast<const T*>(tokens), source, static_cast<const T*>(gates), static_cast<T*>(out), shape.top_k,
            dim);
    KRAIT_CUDA_CHECK_LAUNCH("moe tokens_to_experts_kernel");
  });
}

void experts_to_tokens(const void* rows, const int32_t* expert, const int32_t* slot, const void* gates, void* out,
                       DType type, const MoeShape& shape, int64_t dim, cudaStream_t stream) {
  if (shape.tokens * dim == 0) return;
  dispatch_rows("experts_to_tokens", type, dim, {rows, out}, [&](auto layout) {
    using T = typename decltype(layout)::Type;
    experts_to_tokens_kernel<T, decltype(layout)::kWidth>
        <<<row_blocks("experts_to_tokens", shape.tokens), kRowThreads, 0, stream>>>(
            static_cast<const T*>(rows), expert, slot, static_cast<const T*>(gates), static_cast<T*>(out),
            shape.top_k, shape.capacity, dim);
    KRAIT_CUDA_CHECK_LAUNCH("moe experts_to_tokens_kernel");
  });
}

void combine_gates_backward(const void* y, const void* grad_out, const int32_t* expert, const int32_t* slot,
                            void* grad_gates, DType type, const MoeShape& shape, int64_t dim, cudaStream_t stream) {
  const int64_t choices = shape.tokens * shape.top_k;
  if (choices == 0) return;
  dispatch_rows("combine_gates_backward", type, dim, {y, grad_out}, [&](auto layout) {
    using T = typename decltype(layout)::Type;
    combine_gates_backward_kernel<T, decltype(layout)::kWidth>
        <<<warp_row_blocks("combine_gates_backward", choices), kWarpThreads, 0, stream>>>(
            static_cast<const T*>(y), static_cast<const T*>(grad_out), expert, slot, static_cast<T*>(grad_gates),
            choices, shape.top_k, shape.capacity, dim);
    KRAIT_CUDA_CHECK_LAUNCH("moe combine_gates_backward_kernel");
  });
}

}  // namespace krait::kernels::cuda
