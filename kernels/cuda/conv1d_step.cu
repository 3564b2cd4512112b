// kernels/cuda/conv1d_step.cu — causal_conv1d_step (see conv1d.h): one thread per (sequence, channel)
// reads its window and the new input, writes the conv's output and shifts the window. Generation runs
// it once per layer and token, so it is launch-bound; widths up to kMaxStepWidth stay in registers.
#include <cuda_bf16.h>

#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv1d.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda {
namespace {
using numeric::from_float;
using numeric::sigmoid;
using numeric::to_float;

constexpr int kThreads = 128, kMaxStepWidth = 16;

template <typename T>
__global__ void conv1d_step_kernel(const T* __restrict__ x, int64_t x_stride, T* __restrict__ window,
                                   const float* __restrict__ weight, const float* __restrict__ bias, bool silu,
                                   T* __restrict__ out, int64_t batch, int channels, int width) {
  const int64_t i = blockIdx.x * int64_t(kThreads) + threadIdx.x;
  if (i >= batch * channels) return;
  const int64_t b = i / channels;
  const int c = int(i % channels), kept = width - 1;
  T* past = window + i * kept;
  const float* w = weight + int64_t(c) * width;
  float v[kMaxStepWidth];
  for (int k = 0; k < kept; ++k) v[k] = to_float(past[k]);
  const T now = x[b * x_stride + c];
  v[kept] = to_float(now);
  float acc = bias ? bias[c] : 0.0f;
  for (int k = 0; k < width; ++k) acc = fmaf(w[k], v[k], acc);
  for (int k = 0; k + 1 < kept; ++k) past[k] = past[k + 1];
  if (kept > 0) past[kept - 1] = now;
  out[i] = from_float<T>(silu ? acc * sigmoid(acc) : acc);
}

}  // namespace

void causal_conv1d_step(const void* x, int64_t x_stride, void* window, DType type, const float* weight,
                        const float* bias, bool silu, void* out, int64_t batch, int64_t channels, int64_t width,
                        cudaStream_t stream) {
  KRAIT_CHECK(width >= 1 && width <= kMaxStepWidth, "causal_conv1d_step (cuda): width ", width, " not in 1..",
              kMaxStepWidth);
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, "causal_conv1d_step (cuda): f32 or bf16 only");
  if (batch == 0 || channels == 0) return;
  const unsigned blocks = unsigned((batch * channels + kThreads - 1) / kThreads);
  const auto launch = [&]<typename T>() {
    conv1d_step_kernel<T><<<blocks, kThreads, 0, stream>>>(static_cast<const T*>(x), x_stride,
                                                           static_cast<T*>(window), weight, bias, silu,
                                                           static_cast<T*>(out), batch, int(channels), int(width));
  };
  if (type == DType::BF16) launch.template operator()<__nv_bfloat16>();
  else launch.template operator()<float>();
  KRAIT_CUDA_CHECK_LAUNCH("conv1d_step_kernel");
}

}  // namespace krait::kernels::cuda
