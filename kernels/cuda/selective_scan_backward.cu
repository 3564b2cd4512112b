// kernels/cuda/selective_scan_backward.cu — the lane-per-channel backward kernels of the CUDA
// selective scan: the chunk state-gradient pre-pass (chunked problems only, any N) and the backward
// for N > 16 (N <= 16 takes selective_scan_backward_time.cu). The backward: per
// (32 channels, chunk) it recomputes the states tile by tile from the chunk's saved start state, runs
// the reverse recurrence for the state gradient and produces du, ddelta, dz and per-block partial
// sums of the shared gradients (dA, dD, ddelta_bias, dB, dC), which selective_scan.cu reduces in a
// fixed order. Equations: docs/selective_scan.md; design: docs/selective_scan_cuda.md.
#include "kernels/cuda/check.h"
#include "kernels/cuda/selective_scan_kernels.cuh"

namespace krait::kernels::cuda::scan {
namespace {

// Sums v over the warp's 32 lanes by recursive halving: after log2(V) exchange rounds each lane
// holds one index's sum over V lanes, then a butterfly adds the remaining lanes. Returns the sum over
// all lanes of v[lane % V]; V - 1 + log2(32 / V) shuffles for V sums instead of 5 V. The order of
// the additions is fixed, so the result is deterministic.
//
// Each round is its own instantiation so that every index is a compile-time constant (a loop over the
// round width inside a loop over rounds was only partly unrolled, which left v in local memory), and
// the choice between v[i] and v[i + W] is a selp in inline PTX, so that the front end cannot turn it
// into a select of addresses, which also needs v in memory.
__device__ __forceinline__ float select(unsigned cond, float if_set, float if_clear) {
  float r;
  asm("{\n\t.reg .pred p;\n\tsetp.ne.u32 p, %3, 0;\n\tselp.f32 %0, %1, %2, p;\n\t}"
      : "=f"(r)
      : "f"(if_set), "f"(if_clear), "r"(cond));
  return r;
}

template <int W, int V> __device__ __forceinline__ void reduce_scatter_round(float (&v)[V], unsigned lane) {
  const unsigned upper = lane & unsigned(W);
#pragma unroll
  for (int i = 0; i < W; ++i) {
    const float send = select(upper, v[i], v[i + W]);
    const float keep = select(upper, v[i + W], v[i]);
    v[i] = keep + __shfl_xor_sync(0xffffffffu, send, W);
  }
  if constexpr (W > 1) reduce_scatter_round<W / 2, V>(v, lane);
}

template <int V> __device__ __forceinline__ float reduce_scatter(float (&v)[V]) {
  const unsigned lane = threadIdx.x & 31;
  if constexpr (V > 1) reduce_scatter_round<V / 2, V>(v, lane);
  float r = v[0];
#pragma unroll
  for (int offset = V; offset < 32; offset *= 2) r += __shfl_xor_sync(0xffffffffu, r, offset);
  return r;
}

// Channels and states per thread per staging round: one round stages a tile of up to 16 steps for 4
// warps (backward), of 32 steps for 4 warps (chunk state gradients).
constexpr int kStageK = 4, kStageKRows = 2;
constexpr int kGradStageK = 8, kGradStageKRows = 4;

// Grid (channel blocks, chunks - 1, batch) for chunks 1..: the reverse recurrence
// h_t = dy_t C_t + ā_{t+1} h_{t+1} over the chunk from zero, giving what the chunk passes to the
// step before it, ā_s h_s at its first step s (chunk_state), and its Σ Δ (chunk_dsum).
template <typename T, int NG, bool kCVar>
__global__ void __launch_bounds__(max_threads<NG>(), min_blocks_chunk_grad<NG>()) chunk_state_grad_kernel(const KernelArgs<T> a) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int T_ = a.tile_grad, T_log2 = a.tile_grad_log2;
  const ChunkGradSmem lay(T_, a.state_pad);
  float *s_C = smem + lay.C(), *s_delta = smem + lay.delta(), *s_dy = smem + lay.dy(), *s_chan = smem + lay.chan();
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
  Stager<T, kGradStageK, kGradStageKRows, kOutDelta | kOutDy, false, kCVar> stager;
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


// A persistent grid: block k takes the items k, k + gridDim.x, ...; item = (channel block j, chunk c,
// batch b). The block's slice of `checkpoints` holds the state at every tile start of its chunk.
template <typename T, int NG, bool kBVar, bool kCVar>
__global__ void __launch_bounds__(max_threads<NG>(), min_blocks<NG>()) backward_kernel(const KernelArgs<T> a) {
  // The steps whose dB, dC terms a warp reduces over its lanes at once: about 16 values.
  constexpr int kVars = int(kBVar) + int(kCVar);
  constexpr int kSteps = kVars == 0 || NG * kVars >= 16 ? 1 : 16 / (NG * kVars);
  constexpr int V = kSteps * NG * kVars;
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int T_ = a.tile_bwd, T_log2 = a.tile_bwd_log2, G = a.groups;
  const BackwardSmem lay(T_, G, a.state_pad);
  // s_B, s_C also receive the tile's dB, dC (BackwardSmem).
  float *s_x = smem + lay.x(), *s_B = smem + lay.B(), *s_C = smem + lay.C(), *s_delta = smem + lay.delta(),
        *s_u = smem + lay.u(), *s_dy = smem + lay.dy(), *s_slope = smem + lay.slope(), *s_gz = smem + lay.gz(),
        *s_chan = smem + lay.chan(), *s_y = smem + lay.y(), *s_hB = smem + lay.hB(), *s_wa = smem + lay.wa();
  const int lane = threadIdx.x & 31, grp = threadIdx.x >> 5;
  float* checkpoints = a.checkpoints + blockIdx.x * a.checkpoint_stride;
  ChannelRows rows_a, rows_b;
  rows_a.delta = rows_b.delta = s_delta;
  rows_a.u = rows_b.u = s_u;
  rows_b.dy = s_dy;
  rows_b.slope = s_slope;
  rows_b.gz = s_gz;
  rows_a.bias = rows_b.bias = s_chan;

  for (int64_t item = blockIdx.x; item < a.bwd_items; item += gridDim.x) {
    const int j = int(item % a.channel_blocks);
    const int64_t c = item / a.channel_blocks % a.chunks;
    const int b = int(item / a.channel_blocks / a.chunks);
    const int d = j * kLanes + lane;
    const bool ch_ok = d < a.dim;
    const int64_t bd = int64_t(b) * a.dim + d;
    const int64_t t_begin = c * a.chunk_len, t_end = min(a.len, t_begin + a.chunk_len);
    const int tiles = int((t_end - t_begin + T_ - 1) / T_);
    const auto tile_len = [&](int tile) { return int(min(int64_t(T_), t_end - t_begin - int64_t(tile) * T_)); };

    put_channel_constants(a, j, s_chan);
    float a2[NG], Bi[NG], Ci[NG], x[NG];
    load_channel<NG, kBVar, kCVar>(a, d, a2, Bi, Ci);
#pragma unroll
    for (int k = 0; k < NG; ++k) {
      const int n = grp * NG + k;
      x[k] = ch_ok && n < a.state ? a.saved[(bd * a.saved_per_row + t_begin / kSavedEvery) * a.state + n] : 0.0f;
    }

    // Pass A: forward over the chunk, keeping the state at each tile start (all tiles but the last
    // are full).
    {
      Stager<T, kStageK, kStageKRows, kOutDelta | kOutU, kBVar, false> stager;
      if (tiles > 1) stager.load(a, b, j, t_begin, T_, T_, T_log2, 0);
      for (int tile = 0;; ++tile) {
        put_vec<NG>(checkpoints, tile, G, x);
        if (tile == tiles - 1) break;
        const int64_t t0 = t_begin + int64_t(tile) * T_;
        __syncthreads();
        stager.stage(a, b, j, t0, T_, T_, T_log2, rows_a, s_B, nullptr, lay.row_bc);
        __syncthreads();
        if (tile + 2 < tiles) stager.load(a, b, j, t0 + T_, T_, T_, T_log2, 0);
#pragma unroll 4
        for (int t = 0; t < T_; ++t) {
          const float dt = s_delta[lane * (T_ + 1) + t], du = dt * s_u[lane * (T_ + 1) + t];
          float bt[NG];
          row_or_const<NG, kBVar>(s_B, t, lay.row_bc, Bi, bt);
#pragma unroll
          for (int k = 0; k < NG; ++k) x[k] = fmaf(exp2_approx(dt * a2[k]), x[k], du * bt[k]);
        }
      }
    }

    // Pass B: tiles in reverse. carry = ā_{t+1} h_{t+1}, the state gradient arriving at step t from
    // the step after; at the chunk's end it comes from the next chunk.
    float carry[NG], dA[NG], dBi[NG], dCi[NG];
#pragma unroll
    for (int k = 0; k < NG; ++k) {
      const int n = grp * NG + k;
      carry[k] = c + 1 < a.chunks && ch_ok && n < a.state ? a.chunk_carry[(bd * a.chunks + c) * a.state + n] : 0.0f;
      dA[k] = dBi[k] = dCi[k] = 0.0f;
    }
    float dD = 0.0f, dbias = 0.0f;  // used by warp 0: its lane's channel's Σ dy u and Σ ddelta
    Stager<T, kStageK, kStageKRows, kOutDelta | kOutU | kOutDy | kOutSlope | kOutGz, kBVar, kCVar> stager;
    stager.load(a, b, j, t_begin + int64_t(tiles - 1) * T_, tile_len(tiles - 1), T_, T_log2, 0);
    for (int tile = tiles - 1; tile >= 0; --tile) {
      const int64_t t0 = t_begin + int64_t(tile) * T_;
      const int nt = tile_len(tile);
      __syncthreads();
      stager.stage(a, b, j, t0, nt, T_, T_log2, rows_b, s_B, s_C, lay.row_bc);
      __syncthreads();
      if (tile > 0) stager.load(a, b, j, t0 - T_, T_, T_, T_log2, 0);

      // Recompute the tile's states x_t into s_x (each thread reads back only its own) and the
      // warps' partial y_t when the gate needs y.
      float x0[NG];
      get_vec<NG>(checkpoints, tile, G, x0);
#pragma unroll
      for (int k = 0; k < NG; ++k) x[k] = x0[k];
#pragma unroll 4
      for (int t = 0; t < T_; ++t) {
        const float dt = s_delta[lane * (T_ + 1) + t], du = dt * s_u[lane * (T_ + 1) + t];
        float bt[NG], ct[NG];
        row_or_const<NG, kBVar>(s_B, t, lay.row_bc, Bi, bt);
        row_or_const<NG, kCVar>(s_C, t, lay.row_bc, Ci, ct);
        float y = 0.0f;
#pragma unroll
        for (int k = 0; k < NG; ++k) {
          x[k] = fmaf(exp2_approx(dt * a2[k]), x[k], du * bt[k]);
          y = fmaf(ct[k], x[k], y);
        }
        put_vec<NG>(s_x, t, G, x);
        if (a.z) s_y[(grp * T_ + t) * 33 + lane] = y;
      }

      // The reverse recurrence h_t = dy_t C_t + ā_{t+1} h_{t+1} and the terms of every gradient, with
      // w = h_t ā_t x_{t-1}: dA += w Δ, dΔ gets Σ_n w a + u Σ_n h B, du gets Δ Σ_n h B, dB_t = h Δ u,
      // dC_t = dy x_t. x holds x_t, starting from the tile's last state.
      for (int tq = T_ - kSteps; tq >= 0; tq -= kSteps) {
        float v[V > 0 ? V : 1];  // this warp's dB, dC terms of the kSteps steps, reduced over the lanes below
#pragma unroll
        for (int s = kSteps - 1; s >= 0; --s) {
          const int t = tq + s, at = lane * (T_ + 1) + t;
          const float dt = s_delta[at], u = s_u[at], du = dt * u, dy = s_dy[at];
          float bt[NG], ct[NG], xp[NG];
          row_or_const<NG, kBVar>(s_B, t, lay.row_bc, Bi, bt);
          row_or_const<NG, kCVar>(s_C, t, lay.row_bc, Ci, ct);
          if (t > 0) {
            get_vec<NG>(s_x, t - 1, G, xp);
          } else {
#pragma unroll
            for (int k = 0; k < NG; ++k) xp[k] = x0[k];
          }
          float hB = 0.0f, wa = 0.0f;
#pragma unroll
          for (int k = 0; k < NG; ++k) {
            const float decay = exp2_approx(dt * a2[k]);
            const float h = fmaf(dy, ct[k], carry[k]);
            const float w = h * decay * xp[k];
            dA[k] = fmaf(w, dt, dA[k]);
            wa = fmaf(w, a2[k], wa);
            hB = fmaf(h, bt[k], hB);
            if constexpr (kBVar) v[s * NG + k] = h * du;
            else dBi[k] = fmaf(h, du, dBi[k]);
            if constexpr (kCVar) v[(int(kBVar) * kSteps + s) * NG + k] = dy * x[k];
            else dCi[k] = fmaf(dy, x[k], dCi[k]);
            carry[k] = decay * h;
            x[k] = xp[k];
          }
          dD = fmaf(dy, u, dD);
          s_hB[(grp * T_ + t) * 33 + lane] = hB;
          s_wa[(grp * T_ + t) * 33 + lane] = wa;
        }
        if constexpr (V > 0) {
          // Lane l < V now holds index l of v summed over the block's 32 channels. It goes over this
          // warp's own columns of the B or C row of its step, which no thread reads any more in this
          // tile (the warp has read them; the other warps read only their own columns); __syncwarp
          // orders the lanes' reads before the writes.
          const float sum = reduce_scatter<V>(v);
          __syncwarp();
          if (lane < V) {
            const int which = lane / (kSteps * NG), s = lane / NG % kSteps, k = lane % NG;
            float* dst = kBVar && which == 0 ? s_B : s_C;
            dst[(tq + s) * lay.row_bc + grp * NG + k] = sum;
          }
        }
      }
      __syncthreads();

      // Per (channel, step), the warps' partial sums combined in order: du, ddelta, dz; each thread one
      // step of its channels. ddelta also replaces σ(v) in s_slope, for the sum below.
      {
        const int t = threadIdx.x & (T_ - 1), stride = blockDim.x >> T_log2;
        if (t < nt)
          for (int ch = threadIdx.x >> T_log2; ch < kLanes && j * kLanes + ch < a.dim; ch += stride) {
            const int at = ch * (T_ + 1) + t;
            float hB = 0.0f, wa = 0.0f;
            for (int g = 0; g < G; ++g) {
              hB += s_hB[(g * T_ + t) * 33 + ch];
              wa += s_wa[(g * T_ + t) * 33 + ch];
            }
            wa *= kLn2;  // the sums used a2 = a log2(e)
            const int64_t i = (int64_t(b) * a.dim + j * kLanes + ch) * a.len + t0 + t;
            const float u = s_u[at], skip = s_chan[kLanes + ch];
            const float ddelta = (wa + u * hB) * s_slope[at];
            store(a.du, i, fmaf(s_dy[at], skip, s_delta[at] * hB));
            store(a.ddelta, i, ddelta);
            s_slope[at] = ddelta;
            if (a.z) {
              float y = skip * u;
              for (int g = 0; g < G; ++g) y += s_y[(g * T_ + t) * 33 + ch];
              store(a.dz, i, s_gz[at] * y);
            }
          }
      }
      // The tile's dB, dC summed over the block's channels: partial (j, b, n, t), coalesced along t.
      if constexpr (kBVar || kCVar) {
        for (int e = threadIdx.x; e < a.state * T_; e += blockDim.x) {
          const int n = e >> T_log2, t = e & (T_ - 1);
          if (t >= nt) continue;
          const int64_t i = ((int64_t(j) * a.batch + b) * a.state + n) * a.len + t0 + t;
          if constexpr (kBVar) a.part_B[i] = s_B[t * lay.row_bc + n];
          if constexpr (kCVar) a.part_C[i] = s_C[t * lay.row_bc + n];
        }
      }
      __syncthreads();
      if (threadIdx.x < kLanes)
        for (int t = 0; t < nt; ++t) dbias += s_slope[lane * (T_ + 1) + t];
    }

    // This item's terms of the gradients summed over batch and time: partial (b, c, d, ...).
    if (!ch_ok) continue;
    const int64_t pc = (int64_t(b) * a.chunks + c) * a.dim + d;
#pragma unroll
    for (int k = 0; k < NG; ++k) {
      const int n = grp * NG + k;
      if (n >= a.state) continue;
      a.part_A[pc * a.state + n] = dA[k];
      if constexpr (!kBVar) a.part_B[pc * a.state + n] = dBi[k];
      if constexpr (!kCVar) a.part_C[pc * a.state + n] = dCi[k];
    }
    if (threadIdx.x < kLanes) {
      if (a.part_D) a.part_D[pc] = dD;
      if (a.part_bias) a.part_bias[pc] = dbias;
    }
  }
}

}  // namespace

template <typename T, int NG, bool kBVar, bool kCVar>
void launch_chunk_state_grads(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream) {
  const auto kernel = chunk_state_grad_kernel<T, NG, kCVar>;
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(plan.grad_smem)));
  const dim3 grid(plan.channel_blocks, unsigned(plan.chunks - 1), a.batch);  // chunk 0 passes nothing on
  kernel<<<grid, plan.groups * kLanes, plan.grad_smem, stream>>>(a);
  KRAIT_CUDA_CHECK_LAUNCH("selective_scan chunk_state_grad_kernel");
}

template <typename T, int NG, bool kBVar, bool kCVar>
int backward_blocks_per_sm(int threads, size_t smem) {
  const auto kernel = backward_kernel<T, NG, kBVar, kCVar>;
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                        int(cudaSharedmemCarveoutMaxShared)));
  int blocks = 0;
  KRAIT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, threads, smem));
  return blocks;
}

template <typename T, int NG, bool kBVar, bool kCVar>
void launch_backward(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream) {
  const auto kernel = backward_kernel<T, NG, kBVar, kCVar>;
  KRAIT_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(plan.bwd_smem)));
  kernel<<<plan.bwd_grid, plan.groups * kLanes, plan.bwd_smem, stream>>>(a);
  KRAIT_CUDA_CHECK_LAUNCH("selective_scan backward_kernel");
}

// The lane-per-channel backward runs for N > kStateGroup (NG = 16); the chunk state gradients for any N.
#define KRAIT_SCAN_CHUNK_GRADS(T, NG, BV, CV) \
  template void launch_chunk_state_grads<T, NG, BV, CV>(const KernelArgs<T>&, const Plan&, cudaStream_t);
#define KRAIT_SCAN_BACKWARD(T, BV, CV)                                                             \
  template int backward_blocks_per_sm<T, 16, BV, CV>(int, size_t);                                 \
  template void launch_backward<T, 16, BV, CV>(const KernelArgs<T>&, const Plan&, cudaStream_t);   \
  KRAIT_SCAN_CHUNK_GRADS(T, 4, BV, CV)                                                             \
  KRAIT_SCAN_CHUNK_GRADS(T, 16, BV, CV)
#define KRAIT_SCAN_BACKWARD_BC(T)       \
  KRAIT_SCAN_BACKWARD(T, false, false) \
  KRAIT_SCAN_BACKWARD(T, false, true)  \
  KRAIT_SCAN_BACKWARD(T, true, false)  \
  KRAIT_SCAN_BACKWARD(T, true, true)
KRAIT_SCAN_BACKWARD_BC(float)
KRAIT_SCAN_BACKWARD_BC(__nv_bfloat16)

}  // namespace krait::kernels::cuda::scan
