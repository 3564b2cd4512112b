// kernels/cuda/conv1d.cu — depthwise causal conv1d forward and backward with the optional fused SiLU (see
// conv1d.h). A block takes one (batch, channel) row and a tile of kTile time steps. Two variants:
// - widths up to kSmallWidth (Mamba's is 4): each thread holds kRun consecutive steps and their halo in
//   registers, read and written as 16-byte vectors where the row allows, taps right-aligned in a
//   zero-padded array of kSmallWidth so every loop is unrolled;
// - any width: the block stages the row's taps and the x it needs (with the causal halo) in shared
//   memory, then each thread computes kRun steps kThreads apart.
// x is zero outside [0, length), which clips the taps as kernels/cpu/conv1d.cpp does. The weight and bias
// gradients go through per-(channel, batch, tile) partial sums added in a fixed order (deterministic).
#include "kernels/cuda/conv1d.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda {
namespace {
using numeric::to_float;
using numeric::from_float;
using numeric::sigmoid;
using numeric::load_run;
using numeric::store_run;

constexpr int kThreads = 256, kRun = 8, kTile = kThreads * kRun;
constexpr int kSmallWidth = 8;

// The sum of v over the block in a fixed order, valid in thread 0.
__device__ float block_sum(float v) {
  __shared__ float warp_sums[kThreads / 32];
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  __syncthreads();  // the previous call's reader is done with warp_sums
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x == 0)
    for (int w = 1; w < kThreads / 32; ++w) v += warp_sums[w];
  return v;
}

// Copies the row's taps to w and x[row, first_t + i] (0 outside [0, length)) to xs[i] for i < count.
template <typename T>
__device__ void stage(const T* __restrict__ x_row, const float* __restrict__ taps, int width, int64_t length,
                      int64_t first_t, int count, float* w, float* xs) {
  for (int k = threadIdx.x; k < width; k += kThreads) w[k] = taps[k];
  for (int i = threadIdx.x; i < count; i += kThreads) {
    const int64_t t = first_t + i;
    xs[i] = t >= 0 && t < length ? to_float(x_row[t]) : 0.0f;
  }
}

// bias + sum_k w[k] * x[t - (width-1) + k] over the taps that stay at or after t = 0, with xs[k] holding
// x[t - (width-1) + k].
__device__ float conv_at(const float* w, const float* xs, float bias, int width, int64_t t) {
  float acc = bias;
  for (int k = int(std::max<int64_t>(0, width - 1 - t)); k < width; ++k) acc += w[k] * xs[k];
  return acc;
}

// blockIdx.x: the (batch, channel) row; blockIdx.y: the tile. Shared memory: width taps, then x over
// [t0 - (width-1), t0 + kTile).
template <typename T, bool kSilu>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(const T* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias,
                   T* __restrict__ out, int64_t channels, int64_t length, int width) {
  extern __shared__ float shared[];
  float *w = shared, *xs = shared + width;
  const int64_t row = blockIdx.x, c = row % channels, t0 = int64_t(blockIdx.y) * kTile;
  stage(x + row * length, weight + c * width, width, length, t0 - (width - 1), kTile + width - 1, w, xs);
  __syncthreads();
  const float b = bias ? bias[c] : 0.0f;
  for (int j = 0; j < kRun; ++j) {
    const int i = threadIdx.x + j * kThreads;
    const int64_t t = t0 + i;
    if (t >= length) break;
    const float pre = conv_at(w, xs + i, b, width, t);
    out[row * length + t] = from_float<T>(kSilu ? pre * sigmoid(pre) : pre);
  }
}

// Shared memory: width taps; x over [t0 - (width-1), t0 + kTile + width - 1); g = dL/dpre over
// [t0, t0 + kTile + width - 1), zero from length on. Slot (c, b, tile) of partial gets the tile's sums
// g * x[t - (width-1) + k] for each tap k, then sum g (the bias), when partial is not null.
template <typename T, bool kSilu>
__global__ void __launch_bounds__(kThreads)
    backward_kernel(const T* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias,
                    const T* __restrict__ grad_out, T* __restrict__ grad_x, float* __restrict__ partial,
                    int64_t batch, int64_t channels, int64_t length, int width) {
  extern __shared__ float shared[];
  const int span = kTile + width - 1;
  float *w = shared, *xs = shared + width, *g = xs + span + width - 1;
  const int64_t row = blockIdx.x, c = row % channels, t0 = int64_t(blockIdx.y) * kTile;
  stage(x + row * length, weight + c * width, width, length, t0 - (width - 1), span + width - 1, w, xs);
  __syncthreads();
  const float b = bias ? bias[c] : 0.0f;
  for (int i = threadIdx.x; i < span; i += kThreads) {
    const int64_t t = t0 + i;
    float gi = t < length ? to_float(grad_out[row * length + t]) : 0.0f;
    if (kSilu && t < length) {
      const float pre = conv_at(w, xs + i, b, width, t), s = sigmoid(pre);
      gi = gi * s * (1.0f + pre * (1.0f - s));
    }
    g[i] = gi;
  }
  __syncthreads();
  if (grad_x) {
    for (int j = 0; j < kRun; ++j) {
      const int i = threadIdx.x + j * kThreads;
      const int64_t t = t0 + i;
      if (t >= length) break;
      float acc = 0.0f;  // taps k link x[t] to out[t + (width-1) - k], which must be < length
      for (int k = int(std::max<int64_t>(0, t + width - length)); k < width; ++k) acc += w[k] * g[i + width - 1 - k];
      grad_x[row * length + t] = from_float<T>(acc);
    }
  }
  if (!partial) return;
  const int64_t slot = (c * batch + row / channels) * gridDim.y + blockIdx.y;
  for (int k = 0; k <= width; ++k) {
    float sum = 0.0f;
    for (int j = 0; j < kRun; ++j) {
      const int i = threadIdx.x + j * kThreads;
      if (t0 + i < length) sum += k == width ? g[i] : g[i] * xs[i + k];
    }
    sum = block_sum(sum);
    if (threadIdx.x == 0) partial[slot * (width + 1) + k] = sum;
  }
}

// ---- widths up to kSmallWidth: steps in registers ----

// The row's taps right-aligned in kSmallWidth slots (zeros before), so that tap slot k multiplies
// x[t - (kSmallWidth - 1) + k] for any width.
__device__ __forceinline__ void small_taps(const float* __restrict__ taps, int width, float (&w)[kSmallWidth]) {
#pragma unroll
  for (int k = 0; k < kSmallWidth; ++k) w[k] = k >= kSmallWidth - width ? taps[k - (kSmallWidth - width)] : 0.0f;
}

// v[i] = x_row[t + i] for i < M, zero outside [0, length); 16-byte vectors when `vec` and the run is
// inside the row (rows are 8-aligned then, and t is a multiple of 8).
template <int M, typename T>
__device__ __forceinline__ void load_steps(const T* x_row, int64_t t, int64_t length, bool vec, float (&v)[M]) {
  if (t >= 0) {
    load_run<M>(x_row, t, length, vec && t + M <= length, v);
  } else {
#pragma unroll
    for (int i = 0; i < M; ++i) v[i] = t + i >= 0 && t + i < length ? to_float(x_row[t + i]) : 0.0f;
  }
}

// Thread (row blockIdx.x, run): steps t0 .. t0 + kRun of the row, from x over [t0 - kRun, t0 + kRun).
template <typename T, bool kSilu>
__global__ void __launch_bounds__(kThreads)
    forward_small_kernel(const T* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias,
                         T* __restrict__ out, int64_t channels, int64_t length, int width, bool vec) {
  const int64_t row = blockIdx.x, c = row % channels;
  const int64_t t0 = (int64_t(blockIdx.y) * kThreads + threadIdx.x) * kRun;
  if (t0 >= length) return;
  float w[kSmallWidth], xs[2 * kRun];  // xs[i] = x[t0 - kRun + i]
  small_taps(weight + c * width, width, w);
  const T* x_row = x + row * length;
  float prev[kRun], cur[kRun];
  load_steps<kRun>(x_row, t0 - kRun, length, vec, prev);
  load_steps<kRun>(x_row, t0, length, vec, cur);
#pragma unroll
  for (int i = 0; i < kRun; ++i) xs[i] = prev[i], xs[kRun + i] = cur[i];
  const float b = bias ? bias[c] : 0.0f;
  float o[kRun];
#pragma unroll
  for (int j = 0; j < kRun; ++j) {
    float pre = b;
#pragma unroll
    for (int k = 0; k < kSmallWidth; ++k) pre = fmaf(w[k], xs[j + kRun - (kSmallWidth - 1) + k], pre);
    o[j] = kSilu ? pre * sigmoid(pre) : pre;
  }
  store_run<kRun>(out + row * length, t0, length, vec && t0 + kRun <= length, o);
}

// Sums the V values of v over the block in a fixed order; thread 0 gets the totals.
template <int V> __device__ void block_sums(float (&v)[V]) {
  __shared__ float warp_sums[kThreads / 32][V];
#pragma unroll
  for (int k = 0; k < V; ++k)
    for (int offset = 16; offset > 0; offset >>= 1) v[k] += __shfl_down_sync(0xffffffffu, v[k], offset);
  if (threadIdx.x % 32 == 0)
#pragma unroll
    for (int k = 0; k < V; ++k) warp_sums[threadIdx.x / 32][k] = v[k];
  __syncthreads();
  if (threadIdx.x == 0)
    for (int w = 1; w < kThreads / 32; ++w)
#pragma unroll
      for (int k = 0; k < V; ++k) v[k] += warp_sums[w][k];
}

// Thread (row, run) of tile blockIdx.y: grad_x over t0 .. t0 + kRun needs g' = dL/dpre over
// [t0, t0 + 2 kRun - 1), so pre there, so x over [t0 - kRun, t0 + 2 kRun). Slot (c, b, tile) of partial
// gets the tile's sums of g' x[t - (width-1) + k] for each tap k, then of g' (the bias).
template <typename T, bool kSilu>
__global__ void __launch_bounds__(kThreads)
    backward_small_kernel(const T* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias,
                          const T* __restrict__ grad_out, T* __restrict__ grad_x, float* __restrict__ partial,
                          int64_t batch, int64_t channels, int64_t length, int width, bool vec) {
  const int64_t row = blockIdx.x, c = row % channels;
  const int64_t t0 = (int64_t(blockIdx.y) * kThreads + threadIdx.x) * kRun;
  float sums[kSmallWidth + 1] = {};  // tap slots, then the bias
  if (t0 < length) {
    float w[kSmallWidth], xs[3 * kRun], gp[2 * kRun];  // xs[i] = x[t0 - kRun + i], gp[i] = g'[t0 + i]
    small_taps(weight + c * width, width, w);
    const T* x_row = x + row * length;
    {
      float run[kRun];
#pragma unroll
      for (int r = 0; r < 3; ++r) {
        load_steps<kRun>(x_row, t0 + (r - 1) * kRun, length, vec, run);
#pragma unroll
        for (int i = 0; i < kRun; ++i) xs[r * kRun + i] = run[i];
      }
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        load_steps<kRun>(grad_out + row * length, t0 + r * kRun, length, vec, run);
#pragma unroll
        for (int i = 0; i < kRun; ++i) gp[r * kRun + i] = run[i];
      }
    }
    if (kSilu) {
      const float b = bias ? bias[c] : 0.0f;
#pragma unroll
      for (int i = 0; i < 2 * kRun; ++i) {
        float pre = b;
#pragma unroll
        for (int k = 0; k < kSmallWidth; ++k) pre = fmaf(w[k], xs[i + kRun - (kSmallWidth - 1) + k], pre);
        const float s = sigmoid(pre);
        gp[i] *= s * (1.0f + pre * (1.0f - s));  // zero past the row's end, where g is zero
      }
    }
    if (grad_x) {
      float gx[kRun];
#pragma unroll
      for (int j = 0; j < kRun; ++j) {  // tap slot k links x[t] to out[t + (kSmallWidth - 1) - k]
        float acc = 0.0f;
#pragma unroll
        for (int k = 0; k < kSmallWidth; ++k) acc = fmaf(w[k], gp[j + (kSmallWidth - 1) - k], acc);
        gx[j] = acc;
      }
      store_run<kRun>(grad_x + row * length, t0, length, vec && t0 + kRun <= length, gx);
    }
#pragma unroll
    for (int j = 0; j < kRun; ++j) {  // this thread's own steps; gp is zero past the end
#pragma unroll
      for (int k = 0; k < kSmallWidth; ++k) sums[k] = fmaf(gp[j], xs[j + kRun - (kSmallWidth - 1) + k], sums[k]);
      sums[kSmallWidth] += gp[j];
    }
  }
  if (!partial) return;  // uniform over the block
  block_sums(sums);
  if (threadIdx.x != 0) return;
  const int64_t slot = (c * batch + row / channels) * gridDim.y + blockIdx.y;
  for (int k = 0; k < width; ++k) partial[slot * (width + 1) + k] = sums[kSmallWidth - width + k];
  partial[slot * (width + 1) + width] = sums[kSmallWidth];
}

// One thread per (channel, k): the channel's slots added in (batch, tile) order.
__global__ void sum_slots_kernel(const float* __restrict__ partial, float* __restrict__ grad_weight,
                                 float* __restrict__ grad_bias, int64_t channels, int64_t slots_per_channel,
                                 int width) {
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= channels * (width + 1)) return;
  const int64_t c = idx / (width + 1);
  const int k = int(idx % (width + 1));
  if (k == width ? !grad_bias : !grad_weight) return;
  float total = 0.0f;
  for (int64_t s = 0; s < slots_per_channel; ++s) total += partial[(c * slots_per_channel + s) * (width + 1) + k];
  if (k == width) grad_bias[c] = total;
  else grad_weight[c * width + k] = total;
}

int64_t tiles_of(int64_t length) { return (length + kTile - 1) / kTile; }
bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

void check_args(DType type, int64_t batch, int64_t channels, int64_t length, int64_t width, const char* op) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, op, ": x must be f32 or bf16, got ", dtype_name(type));
  KRAIT_CHECK(width >= 1 && width <= kMaxConvWidth, op, ": width ", width, " is outside [1, ", kMaxConvWidth, "]");
  KRAIT_CHECK(batch * channels <= INT32_MAX && tiles_of(length) <= 65535, op, ": shape (", batch, ", ", channels,
              ", ", length, ") is too large for one launch");
}

// Calls f(T{}) with float or __nv_bfloat16 for type, and with kSilu as a compile-time bool.
template <typename F> void dispatch(DType type, bool silu, F&& f) {
  auto with_silu = [&](auto tag) {
    if (silu) f(tag, std::true_type{});
    else f(tag, std::false_type{});
  };
  if (type == DType::F32) with_silu(float{});
  else with_silu(__nv_bfloat16{});
}

}  // namespace

void causal_conv1d_forward(const void* x, DType type, const float* weight, const float* bias, bool silu, void* out,
                           int64_t batch, int64_t channels, int64_t length, int64_t width, cudaStream_t stream) {
  check_args(type, batch, channels, length, width, "cuda causal_conv1d_forward");
  if (batch * channels == 0 || length == 0) return;
  const dim3 grid(batch * channels, tiles_of(length));
  const bool vec = length % kRun == 0 && aligned16(x) && aligned16(out);
  const size_t shared_bytes = size_t(width + kTile + width - 1) * sizeof(float);
  dispatch(type, silu, [&](auto tag, auto silu_tag) {
    using T = decltype(tag);
    constexpr bool kSilu = decltype(silu_tag)::value;
    const auto* xt = static_cast<const T*>(x);
    if (width <= kSmallWidth) {
      forward_small_kernel<T, kSilu><<<grid, kThreads, 0, stream>>>(xt, weight, bias, static_cast<T*>(out), channels,
                                                                    length, int(width), vec);
      KRAIT_CUDA_CHECK_LAUNCH("causal_conv1d forward_small_kernel");
    } else {
      forward_kernel<T, kSilu><<<grid, kThreads, shared_bytes, stream>>>(xt, weight, bias, static_cast<T*>(out),
                                                                         channels, length, int(width));
      KRAIT_CUDA_CHECK_LAUNCH("causal_conv1d forward_kernel");
    }
  });
}

size_t causal_conv1d_backward_workspace_bytes(int64_t batch, int64_t channels, int64_t length, int64_t width) {
  return size_t(channels * batch * tiles_of(length) * (width + 1)) * sizeof(float);
}

void causal_conv1d_backward(const void* x, DType type, const float* weight, const float* bias, bool silu,
                            const void* grad_out, void* grad_x, float* grad_weight, float* grad_bias, void* workspace,
                            int64_t batch, int64_t channels, int64_t length, int64_t width, cudaStream_t stream) {
  check_args(type, batch, channels, length, width, "cuda causal_conv1d_backward");
  if (channels == 0) return;
  if (batch == 0 || length == 0) {  // nothing to sum: the parameter gradients are zero
    if (grad_weight)
      KRAIT_CUDA_CHECK(cudaMemsetAsync(grad_weight, 0, size_t(channels * width) * sizeof(float), stream));
    if (grad_bias) KRAIT_CUDA_CHECK(cudaMemsetAsync(grad_bias, 0, size_t(channels) * sizeof(float), stream));
    return;
  }
  const bool sums = grad_weight || grad_bias;
  KRAIT_CHECK(!sums || workspace, "cuda causal_conv1d_backward: grad_weight and grad_bias need a workspace");
  float* partial = sums ? static_cast<float*>(workspace) : nullptr;
  const dim3 grid(batch * channels, tiles_of(length));
  const bool vec = length % kRun == 0 && aligned16(x) && aligned16(grad_out) && (!grad_x || aligned16(grad_x));
  const size_t shared_bytes = size_t(width + (kTile + 2 * (width - 1)) + (kTile + width - 1)) * sizeof(float);
  dispatch(type, silu, [&](auto tag, auto silu_tag) {
    using T = decltype(tag);
    constexpr bool kSilu = decltype(silu_tag)::value;
    const auto *xt = static_cast<const T*>(x), *gt = static_cast<const T*>(grad_out);
    if (width <= kSmallWidth) {
      backward_small_kernel<T, kSilu><<<grid, kThreads, 0, stream>>>(xt, weight, bias, gt, static_cast<T*>(grad_x),
                                                                     partial, batch, channels, length, int(width), vec);
      KRAIT_CUDA_CHECK_LAUNCH("causal_conv1d backward_small_kernel");
    } else {
      backward_kernel<T, kSilu><<<grid, kThreads, shared_bytes, stream>>>(
          xt, weight, bias, gt, static_cast<T*>(grad_x), partial, batch, channels, length, int(width));
      KRAIT_CUDA_CHECK_LAUNCH("causal_conv1d backward_kernel");
    }
  });
  if (!sums) return;
  const int64_t threads = channels * (width + 1);
  sum_slots_kernel<<<(threads + 255) / 256, 256, 0, stream>>>(partial, grad_weight, grad_bias, channels,
                                                              batch * tiles_of(length), int(width));
  KRAIT_CUDA_CHECK_LAUNCH("causal_conv1d sum_slots_kernel");
}

}  // namespace krait::kernels::cuda
