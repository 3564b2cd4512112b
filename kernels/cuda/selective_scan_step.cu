// kernels/cuda/selective_scan_step.cu — selective_scan_step (see selective_scan_step.h). G = the
// state size rounded up to a power of two, at most 32, lanes share a channel: lane j of the group
// updates states j, j + G, ... (coalesced reads and writes of the state), and the group adds its
// terms of y with shuffles. Each lane reads the channel's u, Δ and z itself (the same addresses
// across the group: one transaction). With delta_proj the group also computes the channel's delta
// from the low-rank values (lane j takes r = j, j + G, ...; a shuffle tree sums them), which saves
// generation a product launch per layer.
#include <cuda_bf16.h>

#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"
#include "kernels/cuda/selective_scan_step.h"

namespace krait::kernels::cuda {
namespace {
using numeric::fast_softplus;
using numeric::sigmoid;
using numeric::to_float;

constexpr int kThreads = 256;

template <typename T, int G>
__global__ void __launch_bounds__(kThreads) scan_step_kernel(const ScanStepProblem<T, float> p) {
  const int group = threadIdx.x / G, j = threadIdx.x % G;
  const int64_t d = blockIdx.x * int64_t(kThreads / G) + group, b = blockIdx.y;
  const bool ok = d < p.dim;  // a group past the last channel still joins the shuffles
  const int N = int(p.state);
  float projected = 0.0f;  // this lane's part of delta_proj's product
  if (ok && p.delta_proj) {
    const T* in = p.delta + b * p.delta_stride;
    const T* row = p.delta_proj + d * p.delta_rank;
    for (int64_t r = j; r < p.delta_rank; r += G) projected = fmaf(to_float(row[r]), to_float(in[r]), projected);
  }
  if (p.delta_proj) {
#pragma unroll
    for (int off = G / 2; off > 0; off /= 2) projected += __shfl_xor_sync(0xffffffffu, projected, off, G);
  }
  float y = 0.0f, u = 0.0f;
  if (ok) {
    u = to_float(p.u[b * p.u_stride + d]);
    float dt = p.delta_bias ? p.delta_bias[d] : 0.0f;
    if (p.delta_proj) dt += projected;
    else if (p.delta) dt += to_float(p.delta[b * p.delta_stride + d]);
    if (p.delta_softplus) dt = fast_softplus(dt);
    const T* Bn = p.B_variable ? p.B + b * p.B_stride : p.B + d * N;
    const T* Cn = p.C_variable ? p.C + b * p.C_stride : p.C + d * N;
    float* x = p.state_inout + (b * p.dim + d) * N;
    const float* a = p.A + d * N;
    const float du = dt * u;
    for (int n = j; n < N; n += G) {
      const float xn = fmaf(__expf(dt * a[n]), x[n], du * to_float(Bn[n]));
      x[n] = xn;
      y = fmaf(to_float(Cn[n]), xn, y);
    }
  }
#pragma unroll
  for (int off = G / 2; off > 0; off /= 2) y += __shfl_xor_sync(0xffffffffu, y, off, G);
  if (!ok || j != 0) return;
  if (p.D_skip) y = fmaf(p.D_skip[d], u, y);
  if (p.z) {
    const float z = to_float(p.z[b * p.z_stride + d]);
    y *= z * sigmoid(z);
  }
  p.out[b * p.dim + d] = numeric::from_float<T>(y);
}

template <typename T, int G> void launch(const ScanStepProblem<T, float>& p, cudaStream_t stream) {
  constexpr int channels = kThreads / G;
  const dim3 grid(unsigned((p.dim + channels - 1) / channels), unsigned(p.batch));
  scan_step_kernel<T, G><<<grid, kThreads, 0, stream>>>(p);
  KRAIT_CUDA_CHECK_LAUNCH("scan_step_kernel");
}

}  // namespace

template <typename T> void selective_scan_step(const ScanStepProblem<T, float>& p, cudaStream_t stream) {
  KRAIT_CHECK(p.state >= 1 && p.state <= 256, "selective_scan_step (cuda): state size ", p.state, " not in 1..256");
  KRAIT_CHECK(p.batch <= 65535, "selective_scan_step (cuda): batch ", p.batch, " over 65535");
  if (p.batch == 0 || p.dim == 0) return;
  if (p.state <= 4) launch<T, 4>(p, stream);
  else if (p.state <= 8) launch<T, 8>(p, stream);
  else if (p.state <= 16) launch<T, 16>(p, stream);
  else launch<T, 32>(p, stream);
}

template void selective_scan_step<float>(const ScanStepProblem<float, float>&, cudaStream_t);
template void selective_scan_step<__nv_bfloat16>(const ScanStepProblem<__nv_bfloat16, float>&, cudaStream_t);

}  // namespace krait::kernels::cuda
