// kernels/cuda/selective_scan_forward.cu — the forward-direction kernels of the CUDA selective scan:
// the fused forward (Δ, the recurrence, the C contraction, the D skip and the silu(z) gate in one
// pass), each chunk's end state from a zero start (the first pass of the chunked scan), and each
// chunk's state gradient from a zero end (the same for the backward). See
// selective_scan_kernels.cuh for the thread layout and docs/selective_scan_cuda.md for the design.
#include "kernels/cuda/check.h"
#include "kernels/cuda/selective_scan_kernels.cuh"

namespace krait::kernels::cuda::scan {
namespace {

// Channels and states per thread per staging round: a whole tile of 32 steps for 4 warps.
constexpr int kStageK = 8, kStageKRows = 4;

// Grid (channel blocks, chunks, batch). With kEndState, only the chunk's end state from a zero start
// and its Σ Δ go out (chunk_state, chunk_dsum); otherwise the chunk starts from its saved state and
// out is written.
template <typename T, int NG, bool kBVar, bool kCVar, bool kEndState>
__global__ void __launch_bounds__(max_threads<NG>(), min_blocks_forward<NG>()) forward_kernel(const KernelArgs<T> a) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int T_ = a.tile_fwd, T_log2 = a.tile_fwd_log2;
  const ForwardSmem lay(T_, a.groups, a.state_pad);
  float *s_B = smem + lay.B(), *s_C = smem + lay.C(), *s_delta = smem + lay.delta(), *s_u = smem + lay.u(),
        *s_z = smem + lay.extra(), *s_chan = smem + lay.chan(), *s_y = smem + lay.y();
  const int lane = threadIdx.x & 31, grp = threadIdx.x >> 5, j = blockIdx.x, b = blockIdx.z;
  const int64_t c = blockIdx.y;
  const int d = j * kLanes + lane;
  const int64_t bd = int64_t(b) * a.dim + d;

  float a2[NG], Bi[NG], Ci[NG], x[NG];
  load_channel<NG, kBVar, kCVar>(a, d, a2, Bi, Ci);
#pragma unroll
  for (int k = 0; k < NG; ++k) {
    const int n = grp * NG + k;
    x[k] = !kEndState && c > 0 && d < a.dim && n < a.state ? a.saved[(bd * (a.chunks - 1) + c - 1) * a.state + n] : 0.0f;
  }

  put_channel_constants(a, j, s_chan);
  ChannelRows rows;
  rows.delta = s_delta;
  rows.u = s_u;
  rows.z = s_z;
  rows.bias = s_chan;
  Stager<T, kStageK, kStageKRows, kOutDelta | kOutU | (kEndState ? 0u : kOutZ), kBVar, kCVar && !kEndState> stager;
  const int64_t t_begin = c * a.chunk_len, t_end = min(a.len, t_begin + a.chunk_len);
  stager.load(a, b, j, t_begin, int(min(int64_t(T_), t_end - t_begin)), T_, T_log2, 0);
  float dsum = 0.0f;
  for (int64_t t0 = t_begin; t0 < t_end; t0 += T_) {
    const int nt = int(min(int64_t(T_), t_end - t0));
    __syncthreads();  // the previous tile's readers are done
    stager.stage(a, b, j, t0, nt, T_, T_log2, rows, s_B, s_C, lay.row_bc);
    __syncthreads();
    if (t0 + T_ < t_end) stager.load(a, b, j, t0 + T_, int(min(int64_t(T_), t_end - t0 - T_)), T_, T_log2, 0);

#pragma unroll 4
    for (int t = 0; t < nt; ++t) {
      const float dt = s_delta[lane * (T_ + 1) + t], du = dt * s_u[lane * (T_ + 1) + t];
      float bt[NG], ct[NG];
      row_or_const<NG, kBVar>(s_B, t, lay.row_bc, Bi, bt);
      if constexpr (!kEndState) row_or_const<NG, kCVar>(s_C, t, lay.row_bc, Ci, ct);
      float y = 0.0f;
#pragma unroll
      for (int k = 0; k < NG; ++k) {
        x[k] = fmaf(exp2_approx(dt * a2[k]), x[k], du * bt[k]);
        if constexpr (!kEndState) y = fmaf(ct[k], x[k], y);
      }
      if constexpr (kEndState) dsum += dt;
      else s_y[(grp * T_ + t) * 33 + lane] = y;
    }

    if constexpr (!kEndState) {
      __syncthreads();
      // out = (Σ over the warps' partial sums + D u) silu(z): each thread one step of its channels, the
      // threads of a warp on consecutive steps so the stores coalesce.
      const int t = threadIdx.x & (T_ - 1), stride = blockDim.x >> T_log2;
      if (t < nt)
        for (int ch = threadIdx.x >> T_log2; ch < kLanes && j * kLanes + ch < a.dim; ch += stride) {
          const int at = ch * (T_ + 1) + t;
          float y = 0.0f;
          for (int g = 0; g < a.groups; ++g) y += s_y[(g * T_ + t) * 33 + ch];
          y = fmaf(s_chan[kLanes + ch], s_u[at], y);
          if (a.z) y *= s_z[at] * fast_sigmoid(s_z[at]);
          store(a.out, (int64_t(b) * a.dim + j * kLanes + ch) * a.len + t0 + t, y);
        }
    }
  }

  if constexpr (kEndState) {
    if (d >= a.dim) return;
#pragma unroll
    for (int k = 0; k < NG; ++k)
      if (grp * NG + k < a.state) a.chunk_state[(bd * a.chunks + c) * a.state + grp * NG + k] = x[k];
    if (grp == 0) a.chunk_dsum[bd * a.chunks + c] = dsum;
  }
}

// Grid (channel blocks, chunks - 1, batch) for chunks 1..: the reverse recurrence
// h_t = dy_t C_t + ā_{t+1} h_{t+1} over the chunk from zero, giving what the chunk passes to the
// step before it, ā_s h_s at its first step s (chunk_state), and its Σ Δ (chunk_dsum).
template <typename T, int NG, bool kCVar>
__global__ void __launch_bounds__(max_threads<NG>(), min_blocks_forward<NG>()) chunk_state_grad_kernel(const KernelArgs<T> a) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int T_ = a.tile_fwd, T_log2 = a.tile_fwd_log2;
  const ForwardSmem lay(T_, a.groups, a.state_pad);
  float *s_C = smem + lay.C(), *s_delta = smem + lay.delta(), *s_dy = smem + lay.extra(), *s_chan = smem + lay.chan();
  const int lane = threadIdx.x & 31, grp = threadIdx.x >> 5, j = blockIdx.x, b = blockIdx.z;
  const int64_t c = blockIdx.y + 1;
  const int d = j * kLanes + lane;
  const int64_t bd = int64_t(b) * a.dim + d;

  float a2[NG], Bi[NG], Ci[NG], carry[NG];
  load_channel<NG, true, kCVar>(a, d, a2, Bi, Ci);
#pragma unroll
  for (int k = 0; k < NG; ++k) carry[k] = 0.0f;

  put_channel_constants(a, j, s_chan);
  ChannelRows rows;
  rows.delta = s_delta;
  rows.dy = s_dy;
  rows.bias = s_chan;
  Stager<T, kStageK, kStageKRows, kOutDelta | kOutDy, false, kCVar> stager;
  const int64_t t_begin = c * a.chunk_len, t_end = min(a.len, t_begin + a.chunk_len);
  const int tiles = int((t_end - t_begin + T_ - 1) / T_);
  const auto tile_len = [&](int tile) { return int(min(int64_t(T_), t_end - t_begin - int64_t(tile) * T_)); };
  stager.load(a, b, j, t_begin + int64_t(tiles - 1) * T_, tile_len(tiles - 1), T_, T_log2, 0);
  float dsum = 0.0f;
  for (int tile = tiles - 1; tile >= 0; --tile) {
    const int64_t t0 = t_begin + int64_t(tile) * T_;
    const int nt = tile_len(tile);
    __syncthreads();
    stager.stage(a, b, j, t0, nt, T_, T_log2, rows, nullptr, s_C, lay.row_bc);
    __syncthreads();
    if (tile > 0) stager.load(a, b, j, t0 - T_, T_, T_, T_log2, 0);
#pragma unroll 4
    for (int t = nt - 1; t >= 0; --t) {
      const float dt = s_delta[lane * (T_ + 1) + t], dy = s_dy[lane * (T_ + 1) + t];
      float ct[NG];
      row_or_const<NG, kCVar>(s_C, t, lay.row_bc, Ci, ct);
#pragma unroll
      for (int k = 0; k < NG; ++k) carry[k] = exp2_approx(dt * a2[k]) * fmaf(dy, ct[k], carry[k]);
      dsum += dt;
    }
  }
  if (d >= a.dim) return;
#pragma unroll
  for (int k = 0; k < NG; ++k)
    if (grp * NG + k < a.state) a.chunk_state[(bd * a.chunks + c) * a.state + grp * NG + k] = carry[k];
  if (grp == 0) a.chunk_dsum[bd * a.chunks + c] = dsum;
}

// Lets the kernel take `smem` bytes of dynamic shared memory, with the multiprocessors' shared memory
// at its largest so that several such blocks fit.
template <typename Kernel> void prepare(Kernel kernel, size_t smem) {
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                        int(cudaSharedmemCarveoutMaxShared)));
}

}  // namespace

template <typename T, int NG, bool kBVar, bool kCVar>
void launch_forward(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream) {
  const auto kernel = forward_kernel<T, NG, kBVar, kCVar, false>;
  prepare(kernel, plan.fwd_smem);
  const dim3 grid(plan.channel_blocks, unsigned(plan.chunks), a.batch);
  kernel<<<grid, plan.groups * kLanes, plan.fwd_smem, stream>>>(a);
  KRAIT_CUDA_CHECK_LAUNCH("forward_kernel");
}

template <typename T, int NG, bool kBVar, bool kCVar>
void launch_chunk_end_states(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream) {
  const auto kernel = forward_kernel<T, NG, kBVar, false, true>;
  prepare(kernel, plan.fwd_smem);
  const dim3 grid(plan.channel_blocks, unsigned(plan.chunks - 1), a.batch);  // the last chunk's end is not needed
  kernel<<<grid, plan.groups * kLanes, plan.fwd_smem, stream>>>(a);
  KRAIT_CUDA_CHECK_LAUNCH("forward_kernel (chunk end states)");
}

template <typename T, int NG, bool kBVar, bool kCVar>
void launch_chunk_state_grads(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream) {
  const auto kernel = chunk_state_grad_kernel<T, NG, kCVar>;
  prepare(kernel, plan.fwd_smem);
  const dim3 grid(plan.channel_blocks, unsigned(plan.chunks - 1), a.batch);  // chunk 0 passes nothing on
  kernel<<<grid, plan.groups * kLanes, plan.fwd_smem, stream>>>(a);
  KRAIT_CUDA_CHECK_LAUNCH("chunk_state_grad_kernel");
}

#define KRAIT_SCAN_FORWARD(T, NG, BV, CV)                                                       \
  template void launch_forward<T, NG, BV, CV>(const KernelArgs<T>&, const Plan&, cudaStream_t);          \
  template void launch_chunk_end_states<T, NG, BV, CV>(const KernelArgs<T>&, const Plan&, cudaStream_t); \
  template void launch_chunk_state_grads<T, NG, BV, CV>(const KernelArgs<T>&, const Plan&, cudaStream_t);
#define KRAIT_SCAN_FORWARD_BC(T, NG)   \
  KRAIT_SCAN_FORWARD(T, NG, false, false) \
  KRAIT_SCAN_FORWARD(T, NG, false, true)  \
  KRAIT_SCAN_FORWARD(T, NG, true, false)  \
  KRAIT_SCAN_FORWARD(T, NG, true, true)
KRAIT_SCAN_FORWARD_BC(float, 4)
KRAIT_SCAN_FORWARD_BC(float, 16)
KRAIT_SCAN_FORWARD_BC(__nv_bfloat16, 4)
KRAIT_SCAN_FORWARD_BC(__nv_bfloat16, 16)

}  // namespace krait::kernels::cuda::scan
