// kernels/cuda/embedding.cu — embedding gather, the sort-based deterministic scatter-add gradient and the id
// check (see embedding.h).
#include "kernels/cuda/embedding.h"

#include <cub/device/device_radix_sort.cuh>
#include <cuda_bf16.h>

#include <algorithm>

#include "common/error.h"
#include "kernels/cuda/check.h"

namespace krait::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr size_t kAlign = 256;  // workspace regions start on this boundary

__device__ float to_float(float v) { return v; }
__device__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T, int V> struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

size_t align_up(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }
bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// One block per position, copying the row in packs of V elements.
template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(const T* __restrict__ weight, const int64_t* __restrict__ ids, T* __restrict__ out, int64_t vocab,
                   int64_t dim) {
  const int64_t i = blockIdx.x, id = ids[i];
  const bool valid = id >= 0 && id < vocab;
  const auto* src = reinterpret_cast<const Pack<T, V>*>(weight + (valid ? id : 0) * dim);
  auto* dst = reinterpret_cast<Pack<T, V>*>(out + i * dim);
  for (int64_t p = threadIdx.x; p < dim / V; p += kThreads) dst[p] = valid ? src[p] : Pack<T, V>{};
}

__global__ void first_invalid_kernel(const int64_t* __restrict__ ids, int64_t n, int64_t vocab,
                                     unsigned long long* first) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    if (ids[i] < 0 || ids[i] >= vocab) atomicMin(first, static_cast<unsigned long long>(i));
}

// Sort keys (the id, or vocab for an invalid one, which sorts after every row) and the positions.
__global__ void make_keys_kernel(const int64_t* __restrict__ ids, int64_t n, int64_t vocab, uint32_t* __restrict__ keys,
                                 int32_t* __restrict__ positions) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t id = ids[i];
    keys[i] = uint32_t(id >= 0 && id < vocab ? id : vocab);
    positions[i] = int32_t(i);
  }
}

__device__ int64_t lower_bound(const uint32_t* keys, int64_t n, uint32_t key) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Block `row` writes grad_weight[row]: the sum of grad_out at the positions of its segment of the sorted
// pairs. Columns go in tiles of 32 lanes x V; warp w sums the w-th of kWarps equal parts of the segment,
// and warp 0 adds the parts in warp order.
template <typename T, int V>
__global__ void __launch_bounds__(kThreads)
    backward_rows_kernel(const T* __restrict__ grad_out, const uint32_t* __restrict__ sorted_keys,
                         const int32_t* __restrict__ sorted_positions, float* __restrict__ grad_weight, int64_t n,
                         int64_t dim) {
  __shared__ int64_t segment[2];
  __shared__ Pack<float, V> part_sums[kWarps][32];
  const uint32_t row = blockIdx.x;
  if (threadIdx.x == 0) {
    segment[0] = lower_bound(sorted_keys, n, row);
    segment[1] = lower_bound(sorted_keys, n, row + 1);
  }
  __syncthreads();
  const int64_t begin = segment[0], count = segment[1] - begin;
  auto* dst = reinterpret_cast<Pack<float, V>*>(grad_weight + int64_t(row) * dim);
  if (count == 0) {
    for (int64_t p = threadIdx.x; p < dim / V; p += kThreads) dst[p] = Pack<float, V>{};
    return;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t part_begin = begin + count * warp / kWarps, part_end = begin + count * (warp + 1) / kWarps;
  for (int64_t tile = 0; tile < dim; tile += 32 * V) {
    const int64_t col = tile + lane * V;
    Pack<float, V> sum{};
    if (col < dim) {
      for (int64_t s = part_begin; s < part_end; ++s) {
        const T* src = grad_out + int64_t(sorted_positions[s]) * dim;
        const Pack<T, V> g = reinterpret_cast<const Pack<T, V>*>(src)[col / V];
#pragma unroll
        for (int j = 0; j < V; ++j) sum.v[j] += to_float(g.v[j]);
      }
    }
    part_sums[warp][lane] = sum;
    __syncthreads();
    if (warp == 0 && col < dim) {
      for (int w = 1; w < kWarps; ++w)
#pragma unroll
        for (int j = 0; j < V; ++j) sum.v[j] += part_sums[w][lane].v[j];
      dst[col / V] = sum;
    }
    __syncthreads();  // part_sums is reused by the next tile
  }
}

struct Workspace {
  uint32_t *keys, *sorted_keys;
  int32_t *positions, *sorted_positions;
  void* sort_temp;
  size_t sort_temp_bytes, total_bytes;
};

// Sort keys are at most vocab: the radix sort looks at this many low bits.
int key_bits(int64_t vocab) {
  int bits = 1;
  while ((int64_t(1) << bits) <= vocab) ++bits;
  return bits;
}

// The layout of the backward's workspace at base (null: sizes only).
Workspace layout(void* base, int64_t n, int64_t vocab) {
  Workspace w{};
  KRAIT_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, w.sort_temp_bytes, w.keys, w.sorted_keys, w.positions,
                                                   w.sorted_positions, int(n), 0, key_bits(vocab)));
  const size_t key_bytes = align_up(size_t(n) * sizeof(uint32_t));
  const size_t position_bytes = align_up(size_t(n) * sizeof(int32_t));
  char* p = static_cast<char*>(base);
  auto take = [&](size_t bytes) {
    char* region = p ? p + w.total_bytes : nullptr;
    w.total_bytes += bytes;
    return region;
  };
  w.keys = reinterpret_cast<uint32_t*>(take(key_bytes));
  w.sorted_keys = reinterpret_cast<uint32_t*>(take(key_bytes));
  w.positions = reinterpret_cast<int32_t*>(take(position_bytes));
  w.sorted_positions = reinterpret_cast<int32_t*>(take(position_bytes));
  w.sort_temp = take(align_up(w.sort_temp_bytes));
  return w;
}

void check_args(DType type, int64_t n, int64_t vocab, int64_t dim, const char* op) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, op, ": f32 or bf16 expected, got ", dtype_name(type));
  KRAIT_CHECK(n <= INT32_MAX && vocab > 0 && vocab <= INT32_MAX && dim > 0, op, ": bad shape: ", n, " ids, vocab ",
              vocab, ", dim ", dim);
}

template <typename T, int V>
void launch_forward(const void* weight, const int64_t* ids, void* out, int64_t n, int64_t vocab, int64_t dim,
                    cudaStream_t stream) {
  forward_kernel<T, V><<<n, kThreads, 0, stream>>>(static_cast<const T*>(weight), ids, static_cast<T*>(out), vocab,
                                                   dim);
  KRAIT_CUDA_CHECK_LAUNCH("embedding forward_kernel");
}

template <typename T, int V>
void launch_backward_rows(const void* grad_out, const Workspace& w, float* grad_weight, int64_t n, int64_t vocab,
                          int64_t dim, cudaStream_t stream) {
  backward_rows_kernel<T, V><<<vocab, kThreads, 0, stream>>>(static_cast<const T*>(grad_out), w.sorted_keys,
                                                              w.sorted_positions, grad_weight, n, dim);
  KRAIT_CUDA_CHECK_LAUNCH("embedding backward_rows_kernel");
}

}  // namespace

void find_first_invalid_id(const int64_t* ids, int64_t n, int64_t vocab, int64_t* first, cudaStream_t stream) {
  // All bits set reads as -1 and as the largest unsigned value, which atomicMin lowers to the first bad position.
  KRAIT_CUDA_CHECK(cudaMemsetAsync(first, 0xff, sizeof(int64_t), stream));
  if (n == 0) return;
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 1024);
  first_invalid_kernel<<<blocks, kThreads, 0, stream>>>(ids, n, vocab, reinterpret_cast<unsigned long long*>(first));
  KRAIT_CUDA_CHECK_LAUNCH("embedding first_invalid_kernel");
}

void embedding_forward(const void* weight, DType type, const int64_t* ids, void* out, int64_t n, int64_t vocab,
                       int64_t dim, cudaStream_t stream) {
  check_args(type, n, vocab, dim, "cuda embedding_forward");
  if (n == 0) return;
  // Rows are copied in 16-byte packs when their length and both pointers allow it.
  const int pack = int(16 / dtype_size(type));
  const bool packed = dim % pack == 0 && aligned(weight, 16) && aligned(out, 16);
  if (type == DType::F32) {
    if (packed) return launch_forward<float, 4>(weight, ids, out, n, vocab, dim, stream);
    return launch_forward<float, 1>(weight, ids, out, n, vocab, dim, stream);
  }
  if (packed) return launch_forward<__nv_bfloat16, 8>(weight, ids, out, n, vocab, dim, stream);
  launch_forward<__nv_bfloat16, 1>(weight, ids, out, n, vocab, dim, stream);
}

size_t embedding_backward_workspace_bytes(int64_t n, int64_t vocab) {
  return n > 0 ? layout(nullptr, n, vocab).total_bytes : 0;
}

void embedding_backward(const void* grad_out, DType type, const int64_t* ids, float* grad_weight, void* workspace,
                        int64_t n, int64_t vocab, int64_t dim, cudaStream_t stream) {
  check_args(type, n, vocab, dim, "cuda embedding_backward");
  if (n == 0) {
    KRAIT_CUDA_CHECK(cudaMemsetAsync(grad_weight, 0, size_t(vocab * dim) * sizeof(float), stream));
    return;
  }
  KRAIT_CHECK(workspace != nullptr, "cuda embedding_backward: no workspace");
  const Workspace w = layout(workspace, n, vocab);
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 1024);
  make_keys_kernel<<<blocks, kThreads, 0, stream>>>(ids, n, vocab, w.keys, w.positions);
  KRAIT_CUDA_CHECK_LAUNCH("embedding make_keys_kernel");
  size_t sort_temp_bytes = w.sort_temp_bytes;  // CUB takes it by reference
  KRAIT_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(w.sort_temp, sort_temp_bytes, w.keys, w.sorted_keys, w.positions,
                                                   w.sorted_positions, int(n), 0, key_bits(vocab), stream));
  // Lanes take 4 columns at once (16-byte f32 stores) when the rows and pointers allow it.
  const bool packed = dim % 4 == 0 && aligned(grad_out, 4 * dtype_size(type)) && aligned(grad_weight, 16);
  if (type == DType::F32) {
    if (packed) return launch_backward_rows<float, 4>(grad_out, w, grad_weight, n, vocab, dim, stream);
    return launch_backward_rows<float, 1>(grad_out, w, grad_weight, n, vocab, dim, stream);
  }
  if (packed) return launch_backward_rows<__nv_bfloat16, 4>(grad_out, w, grad_weight, n, vocab, dim, stream);
  launch_backward_rows<__nv_bfloat16, 1>(grad_out, w, grad_weight, n, vocab, dim, stream);
}

}  // namespace krait::kernels::cuda
