// kernels/cuda/reduce.cu — axis sums and their broadcast (see reduce.h).
//
// The sum: a block takes a tile of `width` adjacent columns i of one outer row o (width a power of two,
// 32 when inner allows, down to 1 for inner = 1) and `lanes` = 256 / width row lanes; lane l sums rows
// l, l + lanes, ... of the block's slice of dim, then the lanes are added in a fixed tree order. When
// there are few tiles the rows are cut into up to 1024 slices (blockIdx.y) so that a long axis (dim in
// the millions, outer and inner tiny) still fills the device; each slice leaves its sum in the workspace
// and a second kernel adds the slices in order. The slicing depends only on the shape.
#include "kernels/cuda/reduce.h"

#include <cuda_bf16.h>

#include <algorithm>

#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda {
namespace {
using numeric::from_float;
using numeric::to_float;

constexpr int kThreads = 256;
constexpr int kMaxWidth = 32;
constexpr int64_t kTargetBlocks = 1024;     // a few waves of 256-thread blocks on an H100/H200
constexpr int64_t kMinRowsPerThread = 16;   // a slice gives each lane at least this many rows
constexpr int64_t kMaxChunks = 1024;
constexpr int64_t kMaxGrid = int64_t{1} << 20;  // grid-stride beyond this

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Plan {
  int width = 1, lanes = kThreads;
  int64_t col_tiles = 0, tiles = 0, rows_per_chunk = 1, chunks = 1;
};

Plan make_plan(int64_t outer, int64_t dim, int64_t inner) {
  Plan p;
  while (p.width < kMaxWidth && p.width < inner) p.width *= 2;
  p.lanes = kThreads / p.width;
  p.col_tiles = ceil_div(inner, p.width);
  p.tiles = outer * p.col_tiles;
  const int64_t by_blocks = std::max<int64_t>(1, kTargetBlocks / std::max<int64_t>(1, p.tiles));
  const int64_t by_rows = std::max<int64_t>(1, ceil_div(dim, p.lanes * kMinRowsPerThread));
  const int64_t wanted = std::min({by_blocks, by_rows, kMaxChunks});
  p.rows_per_chunk = std::max<int64_t>(1, ceil_div(dim, wanted));
  p.chunks = std::max<int64_t>(1, ceil_div(dim, p.rows_per_chunk));
  return p;
}

// The rows that count for outer row o: all of dim, or its length clamped to [1, dim].
__device__ __forceinline__ int64_t rows_of(const int32_t* lengths, int64_t o, int64_t dim) {
  if (lengths == nullptr) return dim;
  const int64_t n = lengths[o];
  return n < 1 ? (dim < 1 ? dim : 1) : (n > dim ? dim : n);
}
__device__ __forceinline__ float factor_of(const int32_t* lengths, float scale, int64_t rows) {
  return lengths == nullptr ? scale : 1.0f / float(rows);
}

// blockDim = (width, lanes); blockIdx.y is the slice of dim. With one slice the scaled sum goes straight
// to y, else the slice's plain sum goes to partial (chunks, outer, inner).
template <typename T>
__global__ void __launch_bounds__(kThreads)
    sum_rows_kernel(const T* __restrict__ x, const int32_t* __restrict__ lengths, float scale,
                    float* __restrict__ partial, T* __restrict__ y, int64_t outer, int64_t dim, int64_t inner,
                    int64_t col_tiles, int64_t rows_per_chunk) {
  __shared__ float sums[kThreads];
  const int width = blockDim.x, lanes = blockDim.y, column = threadIdx.x, lane = threadIdx.y;
  const int64_t chunk = blockIdx.y, tiles = outer * col_tiles;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const int64_t o = tile / col_tiles;
    const int64_t i = (tile % col_tiles) * width + column;
    const int64_t rows = rows_of(lengths, o, dim);
    const int64_t begin = chunk * rows_per_chunk;
    const int64_t end = rows < begin + rows_per_chunk ? rows : begin + rows_per_chunk;
    float sum = 0.0f;
    if (i < inner) {
      const T* col = x + o * dim * inner + i;
      for (int64_t d = begin + lane; d < end; d += lanes) sum += to_float(col[d * inner]);
    }
    sums[lane * width + column] = sum;
    for (int stride = lanes / 2; stride > 0; stride /= 2) {
      __syncthreads();
      if (lane < stride) sums[lane * width + column] += sums[(lane + stride) * width + column];
    }
    if (lane == 0 && i < inner) {
      const float total = sums[column];
      if (gridDim.y == 1) y[o * inner + i] = from_float<T>(total * factor_of(lengths, scale, rows));
      else partial[(chunk * outer + o) * inner + i] = total;
    }
    __syncthreads();  // sums is refilled for the next tile
  }
}

// y[o, i] = factor * (the slices' sums added in slice order).
template <typename T>
__global__ void sum_chunks_kernel(const float* __restrict__ partial, const int32_t* __restrict__ lengths, float scale,
                                  T* __restrict__ y, int64_t outer, int64_t dim, int64_t inner, int64_t chunks) {
  const int64_t m = outer * inner;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < m; k += int64_t(gridDim.x) * blockDim.x) {
    float total = 0.0f;
    for (int64_t c = 0; c < chunks; ++c) total += partial[c * m + k];
    y[k] = from_float<T>(total * factor_of(lengths, scale, rows_of(lengths, k / inner, dim)));
  }
}

template <typename T>
__global__ void expand_kernel(const T* __restrict__ grad_y, const int32_t* __restrict__ lengths, float scale,
                              T* __restrict__ grad_x, int64_t outer, int64_t dim, int64_t inner) {
  const int64_t total = outer * dim * inner;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = k % inner, row = k / inner;
    const int64_t d = row % dim, o = row / dim;
    const int64_t rows = rows_of(lengths, o, dim);
    const float g = to_float(grad_y[o * inner + i]);
    grad_x[k] = from_float<T>(lengths == nullptr ? scale * g : (d < rows ? g / float(rows) : 0.0f));
  }
}

template <typename T> struct Tag {
  using Type = T;
};

// Calls f(Tag<float>) or f(Tag<__nv_bfloat16>) for `type`.
template <typename F> void with_type(DType type, const char* what, F&& f) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, what, ": f32 or bf16 expected, got ", dtype_name(type));
  if (type == DType::F32) f(Tag<float>{});
  else f(Tag<__nv_bfloat16>{});
}

void check_shape(int64_t outer, int64_t dim, int64_t inner, const char* what) {
  KRAIT_CHECK(outer >= 0 && dim >= 0 && inner >= 0, what, ": negative extent (", outer, ", ", dim, ", ", inner, ")");
}

void launch_sum(const void* x, const int32_t* lengths, float scale, void* y, DType type, int64_t outer, int64_t dim,
                int64_t inner, void* workspace, cudaStream_t stream, const char* what) {
  check_shape(outer, dim, inner, what);
  const Plan p = make_plan(outer, dim, inner);
  if (p.tiles == 0) return;
  KRAIT_CHECK(p.chunks == 1 || workspace != nullptr, what, ": no workspace (", sum_axis_workspace_bytes(outer, dim, inner),
              " bytes needed)");
  float* partial = static_cast<float*>(workspace);
  with_type(type, what, [&](auto tag) {
    using T = typename decltype(tag)::Type;
    const dim3 grid(unsigned(std::min(p.tiles, kMaxGrid)), unsigned(p.chunks)), block(p.width, p.lanes);
    sum_rows_kernel<T><<<grid, block, 0, stream>>>(static_cast<const T*>(x), lengths, scale, partial,
                                                   static_cast<T*>(y), outer, dim, inner, p.col_tiles,
                                                   p.rows_per_chunk);
    KRAIT_CUDA_CHECK_LAUNCH("reduce sum_rows_kernel");
    if (p.chunks == 1) return;
    const int64_t m = outer * inner;
    sum_chunks_kernel<T><<<unsigned(std::min(ceil_div(m, kThreads), kMaxGrid)), kThreads, 0, stream>>>(
        partial, lengths, scale, static_cast<T*>(y), outer, dim, inner, p.chunks);
    KRAIT_CUDA_CHECK_LAUNCH("reduce sum_chunks_kernel");
  });
}

void launch_expand(const void* grad_y, const int32_t* lengths, float scale, void* grad_x, DType type, int64_t outer,
                   int64_t dim, int64_t inner, cudaStream_t stream, const char* what) {
  check_shape(outer, dim, inner, what);
  const int64_t total = outer * dim * inner;
  if (total == 0) return;
  with_type(type, what, [&](auto tag) {
    using T = typename decltype(tag)::Type;
    expand_kernel<T><<<unsigned(std::min(ceil_div(total, kThreads), kMaxGrid)), kThreads, 0, stream>>>(
        static_cast<const T*>(grad_y), lengths, scale, static_cast<T*>(grad_x), outer, dim, inner);
    KRAIT_CUDA_CHECK_LAUNCH("reduce expand_kernel");
  });
}

}  // namespace

size_t sum_axis_workspace_bytes(int64_t outer, int64_t dim, int64_t inner) {
  const Plan p = make_plan(outer, dim, inner);
  return p.chunks > 1 && p.tiles > 0 ? size_t(p.chunks) * size_t(outer) * size_t(inner) * sizeof(float) : 0;
}

void sum_axis(const void* x, void* y, DType type, int64_t outer, int64_t dim, int64_t inner, float scale,
              void* workspace, cudaStream_t stream) {
  launch_sum(x, nullptr, scale, y, type, outer, dim, inner, workspace, stream, "cuda sum_axis");
}

void expand_axis(const void* grad_y, void* grad_x, DType type, int64_t outer, int64_t dim, int64_t inner, float scale,
                 cudaStream_t stream) {
  launch_expand(grad_y, nullptr, scale, grad_x, type, outer, dim, inner, stream, "cuda expand_axis");
}

void mean_axis_prefix(const void* x, const int32_t* lengths, void* y, DType type, int64_t outer, int64_t dim,
                      int64_t inner, void* workspace, cudaStream_t stream) {
  KRAIT_CHECK(lengths != nullptr, "cuda mean_axis_prefix: lengths is null");
  launch_sum(x, lengths, 1.0f, y, type, outer, dim, inner, workspace, stream, "cuda mean_axis_prefix");
}

void expand_axis_prefix(const void* grad_y, const int32_t* lengths, void* grad_x, DType type, int64_t outer,
                        int64_t dim, int64_t inner, cudaStream_t stream) {
  KRAIT_CHECK(lengths != nullptr, "cuda expand_axis_prefix: lengths is null");
  launch_expand(grad_y, lengths, 1.0f, grad_x, type, outer, dim, inner, stream, "cuda expand_axis_prefix");
}

}  // namespace krait::kernels::cuda
