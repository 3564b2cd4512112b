// kernels/cuda/rotary.cu — rotary position embedding (see rotary.h). One thread per (row, pair index i):
// it computes inv_freq(i) and the angle's sincos once and applies them to pair i of every query and key
// head of its row, then copies pair i's two elements of every value head. Consecutive threads take
// consecutive i, so each warp reads and writes contiguous runs of a head.
#include "kernels/cuda/rotary.h"

#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda {
namespace {
using numeric::from_float;
using numeric::to_float;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 8192;  // grid-stride beyond this

// sign +1 rotates (forward), -1 rotates back (the gradient). log2_theta is log2(theta) from the host, so that
// inv_freq is the double expression of cpu::rotary_inv_freq, rounded to float.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    rotary_kernel(const T* __restrict__ in, T* __restrict__ out, int64_t rows, int64_t seq, int64_t n_head,
                  int64_t head_dim, double log2_theta, float sign) {
  const int64_t half = head_dim / 2, width = 3 * n_head * head_dim;
  const int64_t items = rows * half;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < items; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = k / half, i = k % half;
    const float inv_freq = float(exp2(-(2.0 * double(i) / double(head_dim)) * log2_theta));
    const float angle = float(row % seq) * inv_freq;
    float s, c;
    sincosf(angle, &s, &c);
    s *= sign;
    const T* src = in + row * width + i;
    T* dst = out + row * width + i;
    for (int64_t head = 0; head < 2 * n_head; ++head) {
      const int64_t at = head * head_dim;
      const float x0 = to_float(src[at]), x1 = to_float(src[at + half]);
      dst[at] = from_float<T>(x0 * c - x1 * s);
      dst[at + half] = from_float<T>(x0 * s + x1 * c);
    }
    for (int64_t head = 2 * n_head; head < 3 * n_head; ++head) {
      const int64_t at = head * head_dim;
      dst[at] = src[at];
      dst[at + half] = src[at + half];
    }
  }
}

void launch(const void* in, void* out, DType type, int64_t batch, int64_t seq, int64_t n_head, int64_t head_dim,
            double theta, float sign, cudaStream_t stream) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, "cuda rotary: f32 or bf16 expected, got ", dtype_name(type));
  KRAIT_CHECK(head_dim > 0 && head_dim % 2 == 0 && n_head > 0 && theta > 0, "cuda rotary: bad shape n_head ", n_head,
              " head_dim ", head_dim, " theta ", theta);
  const int64_t rows = batch * seq, items = rows * (head_dim / 2);
  if (items == 0) return;
  const int64_t blocks = std::min<int64_t>((items + kThreads - 1) / kThreads, kMaxBlocks);
  const double log2_theta = std::log2(theta);
  if (type == DType::F32) {
    rotary_kernel<float><<<blocks, kThreads, 0, stream>>>(static_cast<const float*>(in), static_cast<float*>(out),
                                                          rows, seq, n_head, head_dim, log2_theta, sign);
  } else {
    rotary_kernel<__nv_bfloat16><<<blocks, kThreads, 0, stream>>>(static_cast<const __nv_bfloat16*>(in),
                                                                  static_cast<__nv_bfloat16*>(out), rows, seq, n_head,
                                                                  head_dim, log2_theta, sign);
  }
  KRAIT_CUDA_CHECK_LAUNCH("rotary_kernel");
}

}  // namespace

void rotary_forward(const void* x, void* y, DType type, int64_t batch, int64_t seq, int64_t n_head, int64_t head_dim,
                    double theta, cudaStream_t stream) {
  launch(x, y, type, batch, seq, n_head, head_dim, theta, 1.0f, stream);
}

void rotary_backward(const void* grad_y, void* grad_x, DType type, int64_t batch, int64_t seq, int64_t n_head,
                     int64_t head_dim, double theta, cudaStream_t stream) {
  launch(grad_y, grad_x, type, batch, seq, n_head, head_dim, theta, -1.0f, stream);
}

}  // namespace krait::kernels::cuda
