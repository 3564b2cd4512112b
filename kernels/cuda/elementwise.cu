// kernels/cuda/elementwise.cu — pointwise kernels (see elementwise.h): one grid-stride kernel, templated on
// the element operation, that reads 4-element packs (16 bytes of f32) when sizes and pointers allow and
// single elements otherwise; and the two-stage deterministic sum over the leading axes.
#include "kernels/cuda/elementwise.h"

#include <cuda_bf16.h>

#include <algorithm>

#include "common/error.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda {
namespace {
using numeric::to_float;
using numeric::from_float;
using numeric::Pack;
using numeric::sigmoid;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;  // grid-stride beyond this
constexpr int kPack = 4;              // elements per vector access

// The element operations: out = op(a, b), b unused by the one-input ones. Formulas as kernels/cpu/elementwise.cpp.
struct SiluForward {
  __device__ float operator()(float x, float) const { return x * sigmoid(x); }
};
struct SiluBackward {
  __device__ float operator()(float x, float gy) const {
    const float s = sigmoid(x);
    return gy * s * (1.0f + x * (1.0f - s));
  }
};
struct SoftplusForward {
  __device__ float operator()(float x, float) const {
    return x > float(cpu::kSoftplusThreshold) ? x : log1pf(expf(x));
  }
};
struct SoftplusBackward {
  __device__ float operator()(float x, float gy) const {
    return x > float(cpu::kSoftplusThreshold) ? gy : gy * sigmoid(x);
  }
};
struct SigmoidForward {
  __device__ float operator()(float x, float) const { return sigmoid(x); }
};
struct SigmoidBackward {  // from y = sigmoid(x)
  __device__ float operator()(float y, float gy) const { return gy * y * (1.0f - y); }
};
struct ExpForward {
  __device__ float operator()(float x, float) const { return expf(x); }
};
struct ExpBackward {  // from y = exp(x)
  __device__ float operator()(float y, float gy) const { return gy * y; }
};
struct AddOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct MulOp {
  __device__ float operator()(float a, float b) const { return a * b; }
};
struct ScaleOp {
  float alpha;
  __device__ float operator()(float x, float) const { return alpha * x; }
};

// y[i] = op(a[i], b[i % inner]) over packs of V elements; b is read only when kInputs == 2 and indexed
// modulo inner only when kBroadcast.
template <typename T, int V, int kInputs, bool kBroadcast, typename Op>
__global__ void __launch_bounds__(kThreads)
    pointwise_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y, int64_t packs,
                     int64_t inner_packs, Op op) {
  using P = Pack<T, V>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < packs; i += int64_t(gridDim.x) * blockDim.x) {
    const P pa = reinterpret_cast<const P*>(a)[i];
    P pb{};
    if constexpr (kInputs == 2) pb = reinterpret_cast<const P*>(b)[kBroadcast ? i % inner_packs : i];
    P out;
#pragma unroll
    for (int j = 0; j < V; ++j) out.v[j] = from_float<T>(op(to_float(pa.v[j]), to_float(pb.v[j])));
    reinterpret_cast<P*>(y)[i] = out;
  }
}

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

template <typename T, int V, int kInputs, bool kBroadcast, typename Op>
void launch_pointwise(const void* a, const void* b, void* y, int64_t n, int64_t inner, Op op, cudaStream_t stream) {
  const int64_t packs = n / V;
  const int64_t blocks = std::min<int64_t>((packs + kThreads - 1) / kThreads, kMaxBlocks);
  pointwise_kernel<T, V, kInputs, kBroadcast><<<blocks, kThreads, 0, stream>>>(
      static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(y), packs, inner / V, op);
  KRAIT_CUDA_CHECK_LAUNCH("elementwise pointwise_kernel");
}

// Runs op over outer * inner elements (b, when read, has inner elements) with packs of kPack when inner
// and every pointer allow it, else one element at a time.
template <int kInputs, bool kBroadcast, typename Op>
void pointwise(const void* a, const void* b, void* y, DType type, int64_t outer, int64_t inner, Op op,
               cudaStream_t stream) {
  const int64_t n = outer * inner;
  if (n == 0) return;
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, "cuda pointwise: f32 or bf16 expected, got ",
              dtype_name(type));
  const size_t pack_bytes = dtype_size(type) * kPack;
  const bool packed = inner % kPack == 0 && aligned(a, pack_bytes) && aligned(y, pack_bytes) &&
                      (kInputs == 1 || aligned(b, pack_bytes));
  if (type == DType::F32) {
    if (packed) return launch_pointwise<float, kPack, kInputs, kBroadcast>(a, b, y, n, inner, op, stream);
    return launch_pointwise<float, 1, kInputs, kBroadcast>(a, b, y, n, inner, op, stream);
  }
  if (packed) return launch_pointwise<__nv_bfloat16, kPack, kInputs, kBroadcast>(a, b, y, n, inner, op, stream);
  return launch_pointwise<__nv_bfloat16, 1, kInputs, kBroadcast>(a, b, y, n, inner, op, stream);
}

// Sum over the leading axis: blocks of kSumColumns columns x kSumLanes row lanes; each block sums the rows
// of one chunk (lane l takes rows l, l + kSumLanes, ...), then lane 0 adds the lanes in order.
constexpr int kSumColumns = 32, kSumLanes = 8;
constexpr int64_t kSumRowsPerChunk = 256, kSumMaxChunks = 1024;

struct SumChunks {
  int64_t rows_per_chunk, chunks;
};
SumChunks sum_chunks(int64_t outer) {
  const int64_t wanted = std::clamp<int64_t>((outer + kSumRowsPerChunk - 1) / kSumRowsPerChunk, 1, kSumMaxChunks);
  const int64_t rows_per_chunk = std::max<int64_t>(1, (outer + wanted - 1) / wanted);
  return {rows_per_chunk, std::max<int64_t>(1, (outer + rows_per_chunk - 1) / rows_per_chunk)};
}

// One chunk of rows per blockIdx.y. With one chunk the sum goes straight to out, else to partial (chunks, inner).
template <typename T, bool kProduct>
__global__ void __launch_bounds__(kSumColumns* kSumLanes)
    sum_outer_chunk_kernel(const T* __restrict__ x, const T* __restrict__ w, float* __restrict__ partial,
                           T* __restrict__ out, int64_t outer, int64_t inner, int64_t rows_per_chunk) {
  __shared__ float lane_sums[kSumLanes][kSumColumns];
  const int64_t col = blockIdx.x * int64_t(kSumColumns) + threadIdx.x;
  const int64_t row_end = std::min<int64_t>(outer, (blockIdx.y + 1) * rows_per_chunk);
  float sum = 0.0f;
  if (col < inner) {
    for (int64_t r = blockIdx.y * rows_per_chunk + threadIdx.y; r < row_end; r += kSumLanes) {
      const int64_t i = r * inner + col;
      sum += kProduct ? to_float(x[i]) * to_float(w[i]) : to_float(x[i]);
    }
  }
  lane_sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || col >= inner) return;
  float total = lane_sums[0][threadIdx.x];
  for (int l = 1; l < kSumLanes; ++l) total += lane_sums[l][threadIdx.x];
  if (gridDim.y == 1) out[col] = from_float<T>(total);
  else partial[blockIdx.y * inner + col] = total;
}

template <typename T>
__global__ void sum_chunks_kernel(const float* __restrict__ partial, T* __restrict__ out, int64_t chunks,
                                  int64_t inner) {
  const int64_t col = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (col >= inner) return;
  float total = 0.0f;
  for (int64_t c = 0; c < chunks; ++c) total += partial[c * inner + col];
  out[col] = from_float<T>(total);
}

template <typename T, bool kProduct>
void launch_sum_outer(const void* x, const void* w, void* out, int64_t outer, int64_t inner, float* partial,
                      cudaStream_t stream) {
  const SumChunks s = sum_chunks(outer);
  const dim3 grid((inner + kSumColumns - 1) / kSumColumns, s.chunks), block(kSumColumns, kSumLanes);
  sum_outer_chunk_kernel<T, kProduct><<<grid, block, 0, stream>>>(
      static_cast<const T*>(x), static_cast<const T*>(w), partial, static_cast<T*>(out), outer, inner,
      s.rows_per_chunk);
  KRAIT_CUDA_CHECK_LAUNCH("elementwise sum_outer_chunk_kernel");
  if (s.chunks == 1) return;
  sum_chunks_kernel<T><<<(inner + kThreads - 1) / kThreads, kThreads, 0, stream>>>(partial, static_cast<T*>(out),
                                                                                     s.chunks, inner);
  KRAIT_CUDA_CHECK_LAUNCH("elementwise sum_chunks_kernel");
}

}  // namespace

void unary_forward(Unary op, const void* x, void* y, DType type, int64_t n, cudaStream_t stream) {
  switch (op) {
    case Unary::Silu: return pointwise<1, false>(x, nullptr, y, type, 1, n, SiluForward{}, stream);
    case Unary::Softplus: return pointwise<1, false>(x, nullptr, y, type, 1, n, SoftplusForward{}, stream);
    case Unary::Sigmoid: return pointwise<1, false>(x, nullptr, y, type, 1, n, SigmoidForward{}, stream);
    case Unary::Exp: return pointwise<1, false>(x, nullptr, y, type, 1, n, ExpForward{}, stream);
  }
}

void unary_backward(Unary op, const void* saved, const void* grad_y, void* grad_x, DType type, int64_t n,
                    cudaStream_t stream) {
  switch (op) {
    case Unary::Silu: return pointwise<2, false>(saved, grad_y, grad_x, type, 1, n, SiluBackward{}, stream);
    case Unary::Softplus: return pointwise<2, false>(saved, grad_y, grad_x, type, 1, n, SoftplusBackward{}, stream);
    case Unary::Sigmoid: return pointwise<2, false>(saved, grad_y, grad_x, type, 1, n, SigmoidBackward{}, stream);
    case Unary::Exp: return pointwise<2, false>(saved, grad_y, grad_x, type, 1, n, ExpBackward{}, stream);
  }
}

void binary_forward(Binary op, const void* a, const void* b, void* y, DType type, int64_t outer, int64_t inner,
                    cudaStream_t stream) {
  const bool broadcast = outer > 1;
  if (op == Binary::Add) {
    if (broadcast) return pointwise<2, true>(a, b, y, type, outer, inner, AddOp{}, stream);
    return pointwise<2, false>(a, b, y, type, outer, inner, AddOp{}, stream);
  }
  if (broadcast) return pointwise<2, true>(a, b, y, type, outer, inner, MulOp{}, stream);
  return pointwise<2, false>(a, b, y, type, outer, inner, MulOp{}, stream);
}

void scale(const void* x, float alpha, void* y, DType type, int64_t n, cudaStream_t stream) {
  pointwise<1, false>(x, nullptr, y, type, 1, n, ScaleOp{alpha}, stream);
}

size_t sum_outer_workspace_bytes(int64_t outer, int64_t inner) {
  const int64_t chunks = sum_chunks(outer).chunks;
  return chunks > 1 ? size_t(chunks * inner) * sizeof(float) : 0;
}

void sum_outer(const void* x, const void* w, void* out, DType type, int64_t outer, int64_t inner, void* workspace,
               cudaStream_t stream) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, "cuda sum_outer: f32 or bf16 expected, got ",
              dtype_name(type));
  if (inner == 0) return;
  if (outer == 0) {
    KRAIT_CUDA_CHECK(cudaMemsetAsync(out, 0, size_t(inner) * dtype_size(type), stream));
    return;
  }
  KRAIT_CHECK(workspace != nullptr || sum_outer_workspace_bytes(outer, inner) == 0,
              "cuda sum_outer: a workspace is needed for ", outer, " rows");
  float* partial = static_cast<float*>(workspace);
  if (type == DType::F32) {
    if (w) return launch_sum_outer<float, true>(x, w, out, outer, inner, partial, stream);
    return launch_sum_outer<float, false>(x, w, out, outer, inner, partial, stream);
  }
  if (w) return launch_sum_outer<__nv_bfloat16, true>(x, w, out, outer, inner, partial, stream);
  launch_sum_outer<__nv_bfloat16, false>(x, w, out, outer, inner, partial, stream);
}

}  // namespace krait::kernels::cuda
