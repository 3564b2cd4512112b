// kernels/cuda/layout.cu — axis swaps and block copies on the device (see layout.h). Swapping the
// last two axes of a stack of matrices (the Mamba mixer's (B, L, E) <-> (B, E, L)) goes through
// 32 x 32 tiles in shared memory so that both the reads and the writes are coalesced; other swaps are
// a plain index map; a copy of rows is a strided 2-D memcpy.
#include "kernels/cuda/layout.h"

#include <algorithm>

#include "kernels/cuda/check.h"

namespace krait::kernels::cuda {
namespace {

// One thread per element of dst; T is a word type of the element's size.
template <typename T>
__global__ void swap_axes_kernel(const T* __restrict__ src, T* __restrict__ dst, int64_t outer, int64_t d0,
                                 int64_t mid, int64_t d1, int64_t inner) {
  const int64_t total = outer * d0 * mid * d1 * inner;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    // e indexes dst as (o, j, m, i, r); read src at (o, i, m, j, r).
    int64_t rest = e;
    const int64_t r = rest % inner; rest /= inner;
    const int64_t i = rest % d0; rest /= d0;
    const int64_t m = rest % mid; rest /= mid;
    const int64_t j = rest % d1; rest /= d1;
    const int64_t o = rest;
    dst[e] = src[((((o * d0 + i) * mid + m) * d1 + j) * inner) + r];
  }
}

// dst[o, j, i] = src[o, i, j] for rows x cols matrices: each block moves one 32 x 32 tile; the
// padding column keeps the tile's column reads free of shared-memory bank conflicts.
constexpr int kTile = 32, kTileRows = 8;

template <typename T>
__global__ void transpose_tiles(const T* __restrict__ src, T* __restrict__ dst, int64_t rows, int64_t cols) {
  __shared__ T tile[kTile][kTile + 1];
  const int64_t matrix = int64_t(blockIdx.z) * rows * cols;
  const int64_t row0 = int64_t(blockIdx.y) * kTile, col0 = int64_t(blockIdx.x) * kTile;
  for (int r = threadIdx.y; r < kTile; r += kTileRows) {
    const int64_t row = row0 + r, col = col0 + threadIdx.x;
    if (row < rows && col < cols) tile[r][threadIdx.x] = src[matrix + row * cols + col];
  }
  __syncthreads();
  for (int c = threadIdx.y; c < kTile; c += kTileRows) {
    const int64_t col = col0 + c, row = row0 + threadIdx.x;
    if (row < rows && col < cols) dst[matrix + col * rows + row] = tile[threadIdx.x][c];
  }
}

template <typename T>
void launch_swap(const void* src, void* dst, int64_t outer, int64_t d0, int64_t mid, int64_t d1, int64_t inner,
                 cudaStream_t stream) {
  const int64_t total = outer * d0 * mid * d1 * inner;
  if (total == 0) return;
  if (mid == 1 && inner == 1 && outer <= 65535 && (d0 + kTile - 1) / kTile <= 65535) {
    const dim3 grid((d1 + kTile - 1) / kTile, (d0 + kTile - 1) / kTile, outer);
    transpose_tiles<T><<<grid, dim3(kTile, kTileRows), 0, stream>>>(static_cast<const T*>(src), static_cast<T*>(dst),
                                                                    d0, d1);
    KRAIT_CUDA_CHECK_LAUNCH("layout transpose_tiles");
    return;
  }
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((total + kThreads - 1) / kThreads, 1 << 20);
  swap_axes_kernel<T><<<blocks, kThreads, 0, stream>>>(static_cast<const T*>(src), static_cast<T*>(dst), outer, d0,
                                                       mid, d1, inner);
  KRAIT_CUDA_CHECK_LAUNCH("layout swap_axes_kernel");
}

}  // namespace

void swap_axes(const void* src, void* dst, size_t elem_size, int64_t outer, int64_t d0, int64_t mid, int64_t d1,
               int64_t inner, cudaStream_t stream) {
  switch (elem_size) {
    case 2: return launch_swap<uint16_t>(src, dst, outer, d0, mid, d1, inner, stream);
    case 4: return launch_swap<uint32_t>(src, dst, outer, d0, mid, d1, inner, stream);
    case 8: return launch_swap<uint64_t>(src, dst, outer, d0, mid, d1, inner, stream);
    default: KRAIT_FAIL("swap_axes: unsupported element size ", elem_size);
  }
}

void copy_block(const void* src, int64_t src_dim, int64_t start, void* dst, int64_t dst_dim, int64_t dst_start,
                int64_t len, size_t elem_size, int64_t outer, int64_t inner, cudaStream_t stream) {
  const size_t row = inner * elem_size;
  if (outer == 0 || len == 0 || row == 0) return;
  KRAIT_CUDA_CHECK(cudaMemcpy2DAsync(static_cast<char*>(dst) + dst_start * row, dst_dim * row,
                                     static_cast<const char*>(src) + start * row, src_dim * row, len * row, outer,
                                     cudaMemcpyDeviceToDevice, stream));
}

}  // namespace krait::kernels::cuda
