// kernels/cuda/selective_scan_forward.cu — the forward kernel of the CUDA selective scan, "lanes in
// time": Δ = softplus(delta + bias), the recurrence, the C contraction, the D skip and the silu(z)
// gate in one pass, each exp(Δ a) computed once; and, from the same kernel, each chunk's end state
// from a zero start (the first pass of a chunked scan). Layout in selective_scan_kernels.cuh
// (ForwardSmem), design in docs/selective_scan_cuda.md.
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"
#include "kernels/cuda/selective_scan_kernels.cuh"

namespace krait::kernels::cuda::scan {
namespace {
using numeric::load_run;
using numeric::store_run;

// Grid (ceil(D / kForwardWarps), chunks, batch); warp w takes channel d = blockIdx.x kForwardWarps + w
// over chunk blockIdx.y, from its saved start state, in segments of kSegment steps. Per segment and
// state n, lane l runs the recurrence over its kItems steps from zero (lane 0: from the running
// state), keeping exp(Δ a) and Δ u B per step; an inclusive scan over the lanes of the pairs
// (Π exp(Δ a), x) gives each lane its true start state; a second pass over its steps from that state
// adds C x to y. With kEndState only the chunk's end state from a zero start and its Σ Δ go out
// (chunk_state, chunk_dsum), for chunks 0..chunks-2.
template <typename T, bool kBVar, bool kCVar, bool kEndState>
__global__ void __launch_bounds__(kForwardWarps * kLanes, 2) forward_kernel(const KernelArgs<T> a) {
  constexpr bool kCRows = kCVar && !kEndState;
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const ForwardSmem lay(a.state, kBVar, kCRows);
  float4 *s_B = smem4 + lay.B() / 4, *s_C = smem4 + lay.C() / 4;
  float *s_a2 = smem + lay.a2(), *s_Bc = smem + lay.Bc(), *s_Cc = smem + lay.Cc(), *s_carry = smem + lay.carry();
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, b = blockIdx.z, N = a.state;
  const int d0 = blockIdx.x * kForwardWarps, d = d0 + w;
  const bool ch_ok = d < a.dim;  // a warp past the last channel still stages and meets the barriers
  const int64_t c = blockIdx.y;

  for (int i = threadIdx.x; i < kForwardWarps * N; i += blockDim.x) {
    const int dd = d0 + i / N, n = i % N;
    const bool ok = dd < a.dim;
    const int64_t an = int64_t(dd) * N + n;
    s_a2[i] = ok ? a.A[an] * kLog2e : 0.0f;
    if constexpr (!kBVar) s_Bc[i] = ok ? load(a.B, an) : 0.0f;
    if constexpr (!kCVar) s_Cc[i] = ok ? load(a.C, an) : 0.0f;
    // Chunk c's start state (carried across chunks when there are several); the end-state pass starts
    // every chunk from zero.
    float start = 0.0f;
    if (!kEndState && ok && a.chunks > 1) start = a.chunk_start[((int64_t(b) * a.dim + dd) * a.chunks + c) * N + n];
    else if (!kEndState && ok && a.initial_state) start = a.initial_state[(int64_t(b) * a.dim + dd) * N + n];
    s_carry[i] = start;
  }
  __syncthreads();

  const float bias = ch_ok && a.delta_bias ? a.delta_bias[d] : 0.0f;
  const float skip = ch_ok && a.D_skip ? a.D_skip[d] : 0.0f;
  const int64_t row = (int64_t(b) * a.dim + (ch_ok ? d : 0)) * a.len;
  const int64_t t_begin = c * a.chunk_len, t_end = min(a.len, t_begin + a.chunk_len);
  const int64_t lim = ch_ok ? t_end : 0;  // steps this warp reads and writes
  float dsum_chunk = 0.0f;

  for (int64_t t0 = t_begin; t0 < t_end; t0 += kSegment) {
    const int64_t tl = t0 + lane * kItems;
    const bool vec = a.vec_io && ch_ok && t0 + kSegment <= t_end;
    // Per step: dt = Δ, du = Δ u, y = D u (the skip; C x is added per state).
    float dt[kItems], du[kItems], y[kItems];
    load_run<kItems>(a.delta + row, tl, lim, vec, dt);
    load_run<kItems>(a.u + row, tl, lim, vec, du);
    float dsum = 0.0f;
#pragma unroll
    for (int i = 0; i < kItems; ++i) {
      const float delta = tl + i >= lim ? 0.0f : step_size(dt[i] + bias, a.softplus);
      dt[i] = delta;
      y[i] = skip * du[i];
      du[i] *= delta;
      dsum += delta;
    }

    for (int n0 = 0; n0 < N; n0 += kStateGroup) {
      const int count = min(kStateGroup, N - n0);
      if constexpr (kBVar || kCRows) {
        __syncthreads();  // the previous group's readers are done
        stage_rows<kItems, T, kBVar, kCRows>(a, b, n0, count, t0, t_end, s_B, s_C);
        __syncthreads();
      }
      for (int k = 0; k < count; ++k) {
        const int wn = w * N + n0 + k;
        const float a2 = s_a2[wn];
        const float start = lane == 0 ? s_carry[wn] : 0.0f;
        float decay[kItems], dub[kItems], x = start;
        {
          float bt[kItems];
          items_of<kItems, kBVar>(s_B, k, s_Bc[wn], bt);
#pragma unroll
          for (int i = 0; i < kItems; ++i) {
            decay[i] = exp2_approx(dt[i] * a2);
            dub[i] = du[i] * bt[i];
            x = fmaf(decay[i], x, dub[i]);
          }
        }
        // Inclusive scan of (P, x) over the lanes: (P1, x1) then (P2, x2) is (P1 P2, P2 x1 + x2), with
        // P = exp(a Σ Δ) over the lane's steps.
        float P = exp2_approx(a2 * dsum);
#pragma unroll
        for (int off = 1; off < kLanes; off *= 2) {
          const float x_up = __shfl_up_sync(0xffffffffu, x, off), P_up = __shfl_up_sync(0xffffffffu, P, off);
          if (lane >= off) {
            x = fmaf(P, x_up, x);
            P *= P_up;
          }
        }
        const float before = __shfl_up_sync(0xffffffffu, x, 1);
        const float seg_end = __shfl_sync(0xffffffffu, x, kLanes - 1);
        if (lane == 0) s_carry[wn] = seg_end;
        if constexpr (!kEndState) {
          // The state before every kSavedEvery-th step, for the backward: lane l starts at one when
          // l kItems is a multiple of kSavedEvery.
          const int64_t t_lane = t0 + lane * kItems;
          if (ch_ok && lane * kItems % kSavedEvery == 0 && t_lane < t_end)
            a.saved_out[((int64_t(b) * a.dim + d) * a.saved_per_row + t_lane / kSavedEvery) * N + n0 + k] =
                lane == 0 ? start : before;
        }
        if constexpr (!kEndState) {
          float ct[kItems];
          items_of<kItems, kCVar>(s_C, k, s_Cc[wn], ct);
          x = lane == 0 ? start : before;
#pragma unroll
          for (int i = 0; i < kItems; ++i) {
            x = fmaf(decay[i], x, dub[i]);
            y[i] = fmaf(ct[i], x, y[i]);
          }
        }
      }
    }

    if constexpr (kEndState) {
      dsum_chunk += dsum;
    } else if (ch_ok) {
      if (a.z) {
        float z[kItems];
        load_run<kItems>(a.z + row, tl, lim, vec, z);
#pragma unroll
        for (int i = 0; i < kItems; ++i) y[i] *= z[i] * fast_sigmoid(z[i]);
      }
      store_run<kItems>(a.out + row, tl, lim, vec, y);
    }
  }

  if constexpr (!kEndState) {
    // The last chunk's running states (lane 0 keeps them in s_carry) are the states after the last step.
    if (!a.final_state || c + 1 != a.chunks) return;
    __syncwarp();
    if (!ch_ok) return;
    for (int n = lane; n < N; n += kLanes) a.final_state[(int64_t(b) * a.dim + d) * N + n] = s_carry[w * N + n];
  } else {
#pragma unroll
    for (int off = 16; off > 0; off /= 2) dsum_chunk += __shfl_xor_sync(0xffffffffu, dsum_chunk, off);
    __syncwarp();  // lane 0's running states are visible to the warp
    if (!ch_ok) return;
    const int64_t bd = int64_t(b) * a.dim + d;
    for (int n = lane; n < N; n += kLanes) a.chunk_state[(bd * a.chunks + c) * N + n] = s_carry[w * N + n];
    if (lane == 0) a.chunk_dsum[bd * a.chunks + c] = dsum_chunk;
  }
}

template <typename Kernel> void prepare(Kernel kernel, size_t smem) {
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                        int(cudaSharedmemCarveoutMaxShared)));
}

unsigned forward_channel_blocks(int dim) { return unsigned((dim + kForwardWarps - 1) / kForwardWarps); }

}  // namespace

template <typename T, bool kBVar, bool kCVar>
void launch_forward(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream) {
  const auto kernel = forward_kernel<T, kBVar, kCVar, false>;
  const size_t smem = ForwardSmem(a.state, kBVar, kCVar).bytes();
  prepare(kernel, smem);
  const dim3 grid(forward_channel_blocks(a.dim), unsigned(plan.chunks), a.batch);
  kernel<<<grid, kForwardWarps * kLanes, smem, stream>>>(a);
  KRAIT_CUDA_CHECK_LAUNCH("selective_scan forward_kernel");
}

template <typename T, bool kBVar, bool kCVar>
void launch_chunk_end_states(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream) {
  const auto kernel = forward_kernel<T, kBVar, kCVar, true>;
  const size_t smem = ForwardSmem(a.state, kBVar, false).bytes();
  prepare(kernel, smem);
  const dim3 grid(forward_channel_blocks(a.dim), unsigned(plan.chunks - 1), a.batch);  // the last chunk's end is not needed
  kernel<<<grid, kForwardWarps * kLanes, smem, stream>>>(a);
  KRAIT_CUDA_CHECK_LAUNCH("selective_scan forward_kernel (chunk end states)");
}

#define KRAIT_SCAN_FORWARD(T, BV, CV)                                                               \
  template void launch_forward<T, BV, CV>(const KernelArgs<T>&, const Plan&, cudaStream_t);          \
  template void launch_chunk_end_states<T, BV, CV>(const KernelArgs<T>&, const Plan&, cudaStream_t);
#define KRAIT_SCAN_FORWARD_BC(T)       \
  KRAIT_SCAN_FORWARD(T, false, false) \
  KRAIT_SCAN_FORWARD(T, false, true)  \
  KRAIT_SCAN_FORWARD(T, true, false)  \
  KRAIT_SCAN_FORWARD(T, true, true)
KRAIT_SCAN_FORWARD_BC(float)
KRAIT_SCAN_FORWARD_BC(__nv_bfloat16)

}  // namespace krait::kernels::cuda::scan
