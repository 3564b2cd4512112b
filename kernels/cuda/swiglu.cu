// kernels/cuda/swiglu.cu — SwiGLU's gate (see swiglu.h): grid-stride kernels over packs of V consecutive
// features of a row (V = 4 when F and the pointers allow 4-element vector accesses, else 1).
#include "kernels/cuda/swiglu.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <initializer_list>

#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda {
namespace {
using numeric::from_float;
using numeric::Pack;
using numeric::sigmoid;
using numeric::to_float;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;
constexpr int kPack = 4;

// Pack k of the (rows, F / V) packs: its row and its first feature.
struct PackIndex {
  int64_t row, feature;
};
__device__ __forceinline__ PackIndex pack_index(int64_t k, int64_t packs_per_row, int V) {
  return {k / packs_per_row, (k % packs_per_row) * V};
}

template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    swiglu_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t features) {
  using P = Pack<T, V>;
  const int64_t packs_per_row = features / V, packs = rows * packs_per_row;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < packs; k += int64_t(gridDim.x) * blockDim.x) {
    const PackIndex p = pack_index(k, packs_per_row, V);
    const T* a = x + p.row * 2 * features + p.feature;
    const P pa = *reinterpret_cast<const P*>(a), pb = *reinterpret_cast<const P*>(a + features);
    P out;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const float av = to_float(pa.v[j]);
      out.v[j] = from_float<T>(av * sigmoid(av) * to_float(pb.v[j]));
    }
    *reinterpret_cast<P*>(y + p.row * features + p.feature) = out;
  }
}

template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    swiglu_backward_kernel(const T* __restrict__ x, const T* __restrict__ gy, T* __restrict__ gx, int64_t rows,
                           int64_t features) {
  using P = Pack<T, V>;
  const int64_t packs_per_row = features / V, packs = rows * packs_per_row;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < packs; k += int64_t(gridDim.x) * blockDim.x) {
    const PackIndex p = pack_index(k, packs_per_row, V);
    const int64_t at = p.row * 2 * features + p.feature;
    const P pa = *reinterpret_cast<const P*>(x + at), pb = *reinterpret_cast<const P*>(x + at + features);
    const P pg = *reinterpret_cast<const P*>(gy + p.row * features + p.feature);
    P ga, gb;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const float a = to_float(pa.v[j]), b = to_float(pb.v[j]), g = to_float(pg.v[j]);
      const float s = sigmoid(a);
      ga.v[j] = from_float<T>(g * b * s * (1.0f + a * (1.0f - s)));
      gb.v[j] = from_float<T>(g * a * s);
    }
    *reinterpret_cast<P*>(gx + at) = ga;
    *reinterpret_cast<P*>(gx + at + features) = gb;
  }
}

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

int64_t blocks_for(int64_t packs) { return std::min<int64_t>((packs + kThreads - 1) / kThreads, kMaxBlocks); }

// Runs Launch::run<T, V> with the storage type and the widest pack that features and every buffer allow.
template <typename Launch>
void dispatch(const char* op, DType type, int64_t features, std::initializer_list<const void*> buffers,
              const Launch& launch) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, "cuda ", op, ": f32 or bf16 expected, got ",
              dtype_name(type));
  bool packed = features % kPack == 0;
  for (const void* b : buffers) packed = packed && aligned(b, dtype_size(type) * kPack);
  if (type == DType::F32) {
    if (packed) return launch.template run<float, kPack>();
    return launch.template run<float, 1>();
  }
  if (packed) return launch.template run<__nv_bfloat16, kPack>();
  launch.template run<__nv_bfloat16, 1>();
}

// The launches, as functors (the CUDA sources are C++17: no templated lambdas).
struct ForwardLaunch {
  const void* x;
  void* y;
  int64_t rows, features;
  cudaStream_t stream;
  template <typename T, int V> void run() const {
    swiglu_forward_kernel<T, V><<<blocks_for(rows * features / V), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), rows, features);
    KRAIT_CUDA_CHECK_LAUNCH("swiglu_forward_kernel");
  }
};

struct BackwardLaunch {
  const void* x;
  const void* grad_y;
  void* grad_x;
  int64_t rows, features;
  cudaStream_t stream;
  template <typename T, int V> void run() const {
    swiglu_backward_kernel<T, V><<<blocks_for(rows * features / V), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<const T*>(grad_y), static_cast<T*>(grad_x), rows, features);
    KRAIT_CUDA_CHECK_LAUNCH("swiglu_backward_kernel");
  }
};

}  // namespace

void swiglu_forward(const void* x, void* y, DType type, int64_t rows, int64_t features, cudaStream_t stream) {
  if (rows * features == 0) return;
  dispatch("swiglu_forward", type, features, {x, y}, ForwardLaunch{x, y, rows, features, stream});
}

void swiglu_backward(const void* x, const void* grad_y, void* grad_x, DType type, int64_t rows, int64_t features,
                     cudaStream_t stream) {
  if (rows * features == 0) return;
  dispatch("swiglu_backward", type, features, {x, grad_y, grad_x},
           BackwardLaunch{x, grad_y, grad_x, rows, features, stream});
}

}  // namespace krait::kernels::cuda
