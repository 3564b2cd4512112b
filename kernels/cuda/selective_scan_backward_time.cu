// kernels/cuda/selective_scan_backward_time.cu — the backward kernel of the CUDA selective scan for
// N <= kStateGroup (Mamba's N = 16), with lanes in time like the forward. Per segment of kSavedEvery
// steps, in reverse, it recomputes the states from the state the forward saved at the segment start,
// runs the reverse recurrence for the state gradient, each with a scan over the lanes, and produces
// du, ddelta, dz and the same per-block partial sums of the shared gradients (dA, dD, ddelta_bias, dB,
// dC) as the lane-per-channel backward (selective_scan_backward.cu); selective_scan.cu reduces them
// in a fixed order. Equations: docs/selective_scan.md; design: docs/selective_scan_cuda.md.
#include "kernels/cuda/check.h"
#include "kernels/cuda/numeric.cuh"
#include "kernels/cuda/selective_scan_kernels.cuh"

namespace krait::kernels::cuda::scan {
namespace {
using numeric::load_run;
using numeric::store_run;

constexpr int kI = kBackItems;                 // steps per lane
constexpr int kQuads = kI / 4;                 // float4s per lane per state
constexpr int kWarpQuads = kQuads * kLanes;    // float4s of one state's segment
constexpr unsigned kAll = 0xffffffffu;

// The sum over the warp's lanes, the same in every lane and in a fixed order.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(kAll, v, off);
  return v;
}

// Grid (part_blocks, chunks, batch): block (j, c, b) takes the back_channels channels from
// j back_channels over chunk c, kBackWarps at a time (group g: channel g kBackWarps + warp), segment by
// segment from the chunk's end. Per (segment, channel, state n):
//   1. x over the lane's steps from zero (lane 0: from the saved state), keeping ā = exp(Δ a) and
//      Δ u B; a scan of (Π ā, x) over the lanes gives each lane its start state; a second pass gives
//      x_{t-1} at every step, and adds C x to y (for dz);
//   2. the reverse recurrence h_t = dy_t C_t + ā_{t+1} h_{t+1} from zero at the lane's end, giving
//      what the lane passes back, ā h at its first step; a reverse scan of (Π ā, that) over the lanes,
//      from the state gradient arriving at the segment's end, gives each lane the one arriving at its
//      last step, and the segment's to pass to the previous segment;
//   3. a second reverse pass with the true gradient: w = h ā x_{t-1}, dA += w Δ, Σ_n w a and Σ_n h B
//      per step, dB_t = h Δ u and dC_t = dy x_t summed over the block's channels in warp order.
template <typename T, bool kBVar, bool kCVar>
__global__ void __launch_bounds__(kBackWarps * kLanes, 2) backward_time_kernel(const KernelArgs<T> a) {
  constexpr bool kRows = kBVar || kCVar;
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const BackwardTimeSmem lay(a.state, kRows);
  float4 *s_B = smem4 + lay.B() / 4, *s_C = smem4 + lay.C() / 4, *s_red = smem4 + lay.red() / 4,
         *s_acc = smem4 + lay.acc() / 4;
  float *s_a2 = smem + lay.a2(), *s_gcarry = smem + lay.gcarry(), *s_dA = smem + lay.dA(), *s_dBc = smem + lay.dBc(),
        *s_dCc = smem + lay.dCc(), *s_Bc = smem + lay.Bc(), *s_Cc = smem + lay.Cc(), *s_dD = smem + lay.dD(),
        *s_dbias = smem + lay.dbias();
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, N = a.state, j = blockIdx.x, b = blockIdx.z;
  const int64_t c = blockIdx.y;
  const int64_t t_begin = c * a.chunk_len, t_end = min(a.len, t_begin + a.chunk_len);

  const int channels = a.back_channels, d0 = j * channels;
  for (int i = threadIdx.x; i < channels * N; i += blockDim.x) {
    const int d = d0 + i / N, n = i % N;
    const bool ok = d < a.dim;
    const int64_t dn = int64_t(d) * N + n, bd = int64_t(b) * a.dim + d;
    s_a2[i] = ok ? a.A[dn] * kLog2e : 0.0f;
    s_gcarry[i] = ok && c + 1 < a.chunks ? a.chunk_carry[(bd * a.chunks + c) * N + n] : 0.0f;
    s_dA[i] = s_dBc[i] = s_dCc[i] = 0.0f;
    s_Bc[i] = !kBVar && ok ? load(a.B, dn) : 0.0f;
    s_Cc[i] = !kCVar && ok ? load(a.C, dn) : 0.0f;
  }
  if (threadIdx.x < kLanes) s_dD[threadIdx.x] = s_dbias[threadIdx.x] = 0.0f;

  const int segments = int((t_end - t_begin + kSavedEvery - 1) / kSavedEvery);
  int buf = 0;  // which of the two dB, dC term buffers this state uses
  for (int seg = segments - 1; seg >= 0; --seg) {
    const int64_t t0 = t_begin + int64_t(seg) * kSavedEvery;
    __syncthreads();  // the previous segment's readers of the rows and of the sums are done
    if constexpr (kRows) stage_rows<kI, T, kBVar, kCVar>(a, b, 0, N, t0, t_end, s_B, s_C);
    __syncthreads();

    for (int g = 0; g < channels / kBackWarps; ++g) {
      const int ch = g * kBackWarps + w, d = d0 + ch;
      const bool ch_ok = d < a.dim;  // a warp past the last channel computes zeros and meets the barriers
      const int64_t bd = int64_t(b) * a.dim + (ch_ok ? d : 0), row = bd * a.len;
      const int64_t lim = ch_ok ? t_end : 0, tl = t0 + lane * kI;
      const bool vec = a.vec_io && ch_ok && t0 + kSavedEvery <= t_end;
      const float skip = ch_ok && a.D_skip ? a.D_skip[d] : 0.0f;
      const float bias = ch_ok && a.delta_bias ? a.delta_bias[d] : 0.0f;
      // Per step: Δ, Δ u, dy = g silu(z), y = D u + Σ_n C x, Σ_n h B, Σ_n w a log2(e).
      float dt[kI], du[kI], dy[kI], y[kI], hB[kI], wa[kI];
      float dsum = 0.0f, dD = 0.0f;
      {
        float u[kI], z[kI];
        load_run<kI>(a.delta + row, tl, lim, vec, dt);
        load_run<kI>(a.u + row, tl, lim, vec, u);
        load_run<kI>(a.grad_out + row, tl, lim, vec, dy);
        if (a.z) load_run<kI>(a.z + row, tl, lim, vec, z);
#pragma unroll
        for (int i = 0; i < kI; ++i) {
          dt[i] = tl + i >= lim ? 0.0f : step_size(dt[i] + bias, a.softplus);
          du[i] = dt[i] * u[i];
          dsum += dt[i];
          if (a.z) dy[i] *= z[i] * fast_sigmoid(z[i]);
          y[i] = skip * u[i];
          hB[i] = wa[i] = 0.0f;
          dD = fmaf(dy[i], u[i], dD);
        }
      }

      for (int n = 0; n < N; ++n) {
        const int cn = ch * N + n;
        const float a2 = s_a2[cn];
        // B, C are read from shared memory where they are used rather than kept (registers).
        float decay[kI], xp[kI];
        const float x0 =
            lane == 0 && ch_ok ? a.saved[(bd * a.saved_per_row + t0 / kSavedEvery) * N + n] : 0.0f;
        float x = x0;
        {
          float bt[kI];
          items_of<kI, kBVar>(s_B, n, s_Bc[cn], bt);
#pragma unroll
          for (int i = 0; i < kI; ++i) {
            decay[i] = exp2_approx(dt[i] * a2);
            x = fmaf(decay[i], x, du[i] * bt[i]);
          }
        }
        const float P0 = exp2_approx(a2 * dsum);  // Π ā over the lane's steps
        float P = P0;
#pragma unroll
        for (int off = 1; off < kLanes; off *= 2) {
          const float x_up = __shfl_up_sync(kAll, x, off), P_up = __shfl_up_sync(kAll, P, off);
          if (lane >= off) {
            x = fmaf(P, x_up, x);
            P *= P_up;
          }
        }
        const float before = __shfl_up_sync(kAll, x, 1);
        x = lane == 0 ? x0 : before;
        // What each lane passes back from a zero end, then the reverse scan: (P1, q1) before (P2, q2)
        // is (P1 P2, q1 + P1 q2).
        float q = 0.0f;
        {
          float bt[kI], ct[kI];
          items_of<kI, kBVar>(s_B, n, s_Bc[cn], bt);
          items_of<kI, kCVar>(s_C, n, s_Cc[cn], ct);
#pragma unroll
          for (int i = 0; i < kI; ++i) {
            xp[i] = x;
            x = fmaf(decay[i], x, du[i] * bt[i]);
            y[i] = fmaf(ct[i], x, y[i]);
          }
#pragma unroll
          for (int i = kI - 1; i >= 0; --i) q = decay[i] * fmaf(dy[i], ct[i], q);
        }
        const float x_last = x;
        const float g_end = s_gcarry[cn];
        if (lane == kLanes - 1) q = fmaf(P0, g_end, q);
        P = P0;
#pragma unroll
        for (int off = 1; off < kLanes; off *= 2) {
          const float q_dn = __shfl_down_sync(kAll, q, off), P_dn = __shfl_down_sync(kAll, P, off);
          if (lane + off < kLanes) {
            q = fmaf(P, q_dn, q);
            P *= P_dn;
          }
        }
        float carry = __shfl_down_sync(kAll, q, 1);
        if (lane == kLanes - 1) carry = g_end;
        const float to_previous = __shfl_sync(kAll, q, 0);
        if (lane == 0) s_gcarry[cn] = to_previous;

        // The terms of dB, dC go to this warp's slot of the two term buffers ([warp][B, C][quad][lane]),
        // a quad at a time; the block sums them below.
        float4* red = s_red + (buf * kBackWarps + w) * 2 * kWarpQuads;
        float dA = 0.0f, dBs = 0.0f, dCs = 0.0f, bt[kI], ct[kI];
        items_of<kI, kBVar>(s_B, n, s_Bc[cn], bt);
        items_of<kI, kCVar>(s_C, n, s_Cc[cn], ct);
#pragma unroll
        for (int qd = kQuads - 1; qd >= 0; --qd) {
          float dBv[4], dCv[4];
#pragma unroll
          for (int r = 3; r >= 0; --r) {
            const int i = 4 * qd + r;
            const float h = fmaf(dy[i], ct[i], carry);
            const float wv = h * decay[i] * xp[i];
            dA = fmaf(wv, dt[i], dA);
            wa[i] = fmaf(wv, a2, wa[i]);
            hB[i] = fmaf(h, bt[i], hB[i]);
            dBv[r] = h * du[i];
            dCv[r] = dy[i] * (i + 1 < kI ? xp[i + 1] : x_last);
            dBs += dBv[r];
            dCs += dCv[r];
            carry = decay[i] * h;
          }
          if constexpr (kBVar) red[qd * kLanes + lane] = make_float4(dBv[0], dBv[1], dBv[2], dBv[3]);
          if constexpr (kCVar) red[kWarpQuads + qd * kLanes + lane] = make_float4(dCv[0], dCv[1], dCv[2], dCv[3]);
        }
        dA = warp_sum(dA);
        if (lane == 0) s_dA[cn] += dA;
        if constexpr (!kBVar) {
          dBs = warp_sum(dBs);
          if (lane == 0) s_dBc[cn] += dBs;
        }
        if constexpr (!kCVar) {
          dCs = warp_sum(dCs);
          if (lane == 0) s_dCc[cn] += dCs;
        }
        if constexpr (kRows) {
          // The warps' terms summed over the warps in order into the block's running sum for the
          // segment, [B, C][state][quad][lane]. Two buffers, so that the next state's terms may go in
          // while this one's are read: one barrier per state.
          __syncthreads();
          // Each thread one float2 of the 2 kWarpQuads float4s (B then C), so all threads share the work.
          constexpr int kPairs = 2 * kWarpQuads;  // float2s of B (or C) per warp
          const int k = threadIdx.x, which = k / kPairs;
          static_assert(kBackWarps * kLanes == 2 * kPairs, "one float2 of B or C per thread");
          if (which == 0 ? kBVar : kCVar) {
            const float2* terms = reinterpret_cast<const float2*>(s_red) + buf * kBackWarps * 2 * kPairs + k;
            float2 sum = terms[0];
            for (int v = 1; v < kBackWarps; ++v) {
              const float2 t = terms[v * 2 * kPairs];
              sum.x += t.x;
              sum.y += t.y;
            }
            float2& acc = reinterpret_cast<float2*>(s_acc)[(which * kStateGroup + n) * kPairs + k % kPairs];
            if (g > 0) sum = make_float2(acc.x + sum.x, acc.y + sum.y);
            acc = sum;
          }
          buf ^= 1;
        }
      }

      // The channel's per-step gradients: du = dy D + Δ Σ h B, ddelta = (Σ w a + u Σ h B) σ(v) (σ only
      // under softplus below the threshold), dz = g σ(z) (1 + z (1 - σ(z))) y.
      {
        float u[kI], raw[kI], out[kI];
        load_run<kI>(a.u + row, tl, lim, vec, u);
        load_run<kI>(a.delta + row, tl, lim, vec, raw);
        float dbias = 0.0f;
#pragma unroll
        for (int i = 0; i < kI; ++i) {
          raw[i] = fmaf(wa[i], kLn2, u[i] * hB[i]) * step_slope(raw[i] + bias, a.softplus);  // ddelta
          dbias += raw[i];
          out[i] = fmaf(dy[i], skip, dt[i] * hB[i]);
        }
        if (ch_ok) {
          store_run<kI>(a.du + row, tl, lim, vec, out);
          store_run<kI>(a.ddelta + row, tl, lim, vec, raw);
        }
        if (a.z) {
          float z[kI];
          load_run<kI>(a.grad_out + row, tl, lim, vec, out);
          load_run<kI>(a.z + row, tl, lim, vec, z);
#pragma unroll
          for (int i = 0; i < kI; ++i) {
            const float sz = fast_sigmoid(z[i]);
            out[i] *= sz * (1.0f + z[i] * (1.0f - sz)) * y[i];
          }
          if (ch_ok) store_run<kI>(a.dz + row, tl, lim, vec, out);
        }
        dD = warp_sum(dD);
        dbias = warp_sum(dbias);
        if (lane == 0) {
          s_dD[ch] += dD;
          s_dbias[ch] += dbias;
        }
      }
    }

    if constexpr (kRows) {
      // The segment's dB, dC summed over the block's channels: partial (j, b, n, t), coalesced along t.
      __syncthreads();
      const float* acc = reinterpret_cast<const float*>(s_acc);
      for (int e = threadIdx.x; e < N * kSavedEvery; e += blockDim.x) {
        const int n = e / kSavedEvery, t = e % kSavedEvery;
        if (t0 + t >= t_end) continue;
        const int at = (n * kWarpQuads + (t % kI / 4) * kLanes + t / kI) * 4 + t % 4;
        const int64_t i = ((int64_t(j) * a.batch + b) * N + n) * a.len + t0 + t;
        if constexpr (kBVar) a.part_B[i] = acc[at];
        if constexpr (kCVar) a.part_C[i] = acc[kStateGroup * kWarpQuads * 4 + at];
      }
    }
  }

  // The block's terms of the gradients summed over batch and time: partial (b, c, d, ...).
  __syncthreads();
  for (int i = threadIdx.x; i < channels * N; i += blockDim.x) {
    const int d = d0 + i / N, n = i % N;
    if (d >= a.dim) continue;
    const int64_t pc = (int64_t(b) * a.chunks + c) * a.dim + d;
    a.part_A[pc * N + n] = s_dA[i];
    if constexpr (!kBVar) a.part_B[pc * N + n] = s_dBc[i];
    if constexpr (!kCVar) a.part_C[pc * N + n] = s_dCc[i];
  }
  if (int(threadIdx.x) < channels && d0 + int(threadIdx.x) < a.dim) {
    const int64_t pc = (int64_t(b) * a.chunks + c) * a.dim + d0 + threadIdx.x;
    if (a.part_D) a.part_D[pc] = s_dD[threadIdx.x];
    if (a.part_bias) a.part_bias[pc] = s_dbias[threadIdx.x];
  }
}

}  // namespace

template <typename T, bool kBVar, bool kCVar>
void launch_backward_time(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream) {
  const auto kernel = backward_time_kernel<T, kBVar, kCVar>;
  const size_t smem = BackwardTimeSmem(a.state, kBVar || kCVar).bytes();
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                        int(cudaSharedmemCarveoutMaxShared)));
  const dim3 grid(plan.part_blocks, unsigned(plan.chunks), a.batch);
  kernel<<<grid, kBackWarps * kLanes, smem, stream>>>(a);
  KRAIT_CUDA_CHECK_LAUNCH("selective_scan backward_time_kernel");
}

#define KRAIT_SCAN_BACKWARD_TIME(T)                                                                   \
  template void launch_backward_time<T, false, false>(const KernelArgs<T>&, const Plan&, cudaStream_t); \
  template void launch_backward_time<T, false, true>(const KernelArgs<T>&, const Plan&, cudaStream_t);  \
  template void launch_backward_time<T, true, false>(const KernelArgs<T>&, const Plan&, cudaStream_t);  \
  template void launch_backward_time<T, true, true>(const KernelArgs<T>&, const Plan&, cudaStream_t);
KRAIT_SCAN_BACKWARD_TIME(float)
KRAIT_SCAN_BACKWARD_TIME(__nv_bfloat16)

}  // namespace krait::kernels::cuda::scan
