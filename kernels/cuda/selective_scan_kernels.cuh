// kernels/cuda/selective_scan_kernels.cuh — internal to the CUDA selective scan: the launch plan,
// the arguments every kernel takes, the shared-memory layouts and the device helpers shared by the
// forward (selective_scan_forward.cu) and backward (selective_scan_backward.cu) kernels.
//
// Two thread layouts (docs/selective_scan_cuda.md). The forward puts lanes in time (ForwardSmem below).
// The backward and the chunk state-gradient kernels put lanes on channels: a block owns 32 channels d
// of one batch element b (lane = channel) and one chunk of time; warp w holds the states n in
// [w NG, (w + 1) NG) of its lane's channel in registers, so a block has ceil(N / NG) warps.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "kernels/cuda/numeric.cuh"

namespace krait::kernels::cuda::scan {

constexpr int kLanes = 32;    // channels per block
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
constexpr float kSoftplusThreshold = 20.0f;  // as cpu::kSoftplusThreshold

// How a problem is cut into blocks, chunks and tiles. The forward and the backward of one problem
// must use the same plan (the saved states are per chunk); make_plan derives it from the sizes and
// the device alone.
struct Plan {
  int ng = 4;                 // states per thread: 4 when N <= 16, else 16
  int groups = 1;             // warps per block = ceil(N / ng)
  int state_pad = 4;          // groups * ng
  int channel_blocks = 1;     // ceil(D / 32)
  int tile_grad = 32, tile_bwd = 16;  // steps staged at once by the chunk-gradient and backward kernels (powers of two)
  int64_t chunk_len = 0, chunks = 1;  // time is cut into chunks of chunk_len (a multiple of 64)
  int64_t bwd_items = 0;      // backward work items: (channel block, chunk, batch)
  int back_channels = kLanes; // channels per block of the lanes-in-time backward
  int part_blocks = 1;        // blocks along the channels of the backward: partial sums of dB, dC per block
  int bwd_grid = 0;           // backward blocks; each loops over items
  size_t grad_smem = 0, bwd_smem = 0;
};

constexpr int log2_int(int x) {
  int r = 0;
  while ((1 << r) < x) ++r;
  return r;
}

// Launch bounds of the lane-per-channel kernels: up to 4 warps (N <= 16) with registers for four
// chunk-gradient or three backward blocks per multiprocessor, or up to 16 warps (N = 256 in groups of
// 16).
template <int NG> constexpr int max_threads() { return NG == 4 ? 128 : 512; }
template <int NG> constexpr int min_blocks() { return NG == 4 ? 3 : 1; }
template <int NG> constexpr int min_blocks_chunk_grad() { return NG == 4 ? 4 : 1; }

// The forward kernel's layout ("lanes in time"; docs/selective_scan_cuda.md): a warp owns one channel,
// lane l holds kItems consecutive steps of a kSegment-step segment, and the warp walks the states
// n = 0..N-1 with a scan over its lanes for each; a block holds kForwardWarps channels of one batch
// element and stages the input-dependent B, C rows of kStateGroup states over the segment.
constexpr int kItems = 16;
constexpr int kSegment = kLanes * kItems;
constexpr int kForwardWarps = 8;
constexpr int kStateGroup = 16;
constexpr int kRowFloats = kStateGroup * kSegment;  // one staged B or C group
// The forward saves the state at every kSavedEvery-th step (a multiple of kItems); the backward for
// N <= kStateGroup recomputes each kSavedEvery-step segment from there.
constexpr int kSavedEvery = 256;

// The backward for N <= kStateGroup, also with lanes in time: a warp owns one channel at a time and
// lane l holds kBackItems steps of a kSavedEvery-step segment; a block of kBackWarps warps covers
// Plan::back_channels channels (8, 16 or 32) in groups of kBackWarps, segment by segment in reverse.
constexpr int kBackItems = kSavedEvery / kLanes;
constexpr int kBackWarps = 8;

// Its shared memory, in floats: when B or C is input-dependent, the staged rows of the segment (as
// ForwardSmem, kBackItems steps per lane), two buffers of the warps' dB, dC terms of one state
// ([warp][B, C][kBackItems / 4][lane] float4) and the block's running sums of dB, dC over its
// channels for the segment ([B, C][state][kBackItems / 4][lane] float4); then per (channel, state)
// a log2(e), the state gradient carried to the previous segment, the sums for dA and the
// time-invariant dB, dC, and the time-invariant B, C; per channel Σ dy u and Σ ddelta.
struct BackwardTimeSmem {
  int state, rows;
  __host__ __device__ BackwardTimeSmem(int state_, bool variable) : state(state_), rows(variable ? 1 : 0) {}
  __host__ __device__ int B() const { return 0; }
  __host__ __device__ int C() const { return rows * kStateGroup * kSavedEvery; }
  __host__ __device__ int red() const { return C() + rows * kStateGroup * kSavedEvery; }
  __host__ __device__ int acc() const { return red() + rows * 2 * kBackWarps * 2 * kSavedEvery; }
  __host__ __device__ int a2() const { return acc() + rows * 2 * kStateGroup * kSavedEvery; }
  __host__ __device__ int gcarry() const { return a2() + kLanes * state; }
  __host__ __device__ int dA() const { return gcarry() + kLanes * state; }
  __host__ __device__ int dBc() const { return dA() + kLanes * state; }
  __host__ __device__ int dCc() const { return dBc() + kLanes * state; }
  __host__ __device__ int Bc() const { return dCc() + kLanes * state; }
  __host__ __device__ int Cc() const { return Bc() + kLanes * state; }
  __host__ __device__ int dD() const { return Cc() + kLanes * state; }
  __host__ __device__ int dbias() const { return dD() + kLanes; }
  __host__ __device__ size_t bytes() const { return sizeof(float) * size_t(dbias() + kLanes); }
};

// The forward's shared memory, in floats: the staged B and C rows (when input-dependent), each laid
// out [state][kItems / 4][lane] as float4 so that lane l's steps 4q..4q+3 are one conflict-free
// float4 read; then per (warp, state) a log2(e), the time-invariant B and C, and the running state.
struct ForwardSmem {
  int state, rows_b, rows_c;
  __host__ __device__ ForwardSmem(int state_, bool b_rows, bool c_rows)
      : state(state_), rows_b(b_rows ? kRowFloats : 0), rows_c(c_rows ? kRowFloats : 0) {}
  __host__ __device__ int B() const { return 0; }
  __host__ __device__ int C() const { return rows_b; }
  __host__ __device__ int a2() const { return rows_b + rows_c; }
  __host__ __device__ int Bc() const { return a2() + kForwardWarps * state; }
  __host__ __device__ int Cc() const { return Bc() + kForwardWarps * state; }
  __host__ __device__ int carry() const { return Cc() + kForwardWarps * state; }
  __host__ __device__ size_t bytes() const { return sizeof(float) * size_t(carry() + kForwardWarps * state); }
};

// Shared memory of the chunk state-gradient kernel (the backward's pre-pass over chunks), in floats.
// Per (time, state): C rows of state_pad + 4 floats (the padding spreads the staging stores over
// banks; rows stay 16-byte aligned for float4 reads). Per (channel, time): rows of T + 1 floats (odd,
// so a warp reading one time step of 32 channels hits 32 banks): Δ and dy. The channel constants
// (put_channel_constants).
struct ChunkGradSmem {
  int T, row_bc;
  __host__ __device__ ChunkGradSmem(int tile, int state_pad) : T(tile), row_bc(state_pad + 4) {}
  __host__ __device__ int C() const { return 0; }
  __host__ __device__ int delta() const { return T * row_bc; }
  __host__ __device__ int dy() const { return delta() + kLanes * (T + 1); }
  __host__ __device__ int chan() const { return dy() + kLanes * (T + 1); }
  __host__ __device__ size_t bytes() const { return sizeof(float) * size_t(chan() + 2 * kLanes); }
};

// Shared memory of the backward kernel, in floats: the states x_t of every thread over the tile
// (float4-aligned, first), B and C rows (a warp reads only its own states' columns, and overwrites
// them with the tile's dB, dC summed over the channels once it has read them), per (channel, time) Δ,
// u, dy, σ(v) (reused for ddelta once read) and g σ(z)(1 + z(1 - σ(z))), the channel constants, then
// per (group, time, channel) the warps' partial y, Σ h B and Σ w a.
struct BackwardSmem {
  int T, groups, state_pad, row_bc;
  __host__ __device__ BackwardSmem(int tile, int groups_, int state_pad_)
      : T(tile), groups(groups_), state_pad(state_pad_), row_bc(state_pad_ + 4) {}
  __host__ __device__ int x() const { return 0; }
  __host__ __device__ int B() const { return T * state_pad * kLanes; }
  __host__ __device__ int C() const { return B() + T * row_bc; }
  __host__ __device__ int delta() const { return C() + T * row_bc; }
  __host__ __device__ int u() const { return delta() + kLanes * (T + 1); }
  __host__ __device__ int dy() const { return u() + kLanes * (T + 1); }
  __host__ __device__ int slope() const { return dy() + kLanes * (T + 1); }
  __host__ __device__ int gz() const { return slope() + kLanes * (T + 1); }
  __host__ __device__ int chan() const { return gz() + kLanes * (T + 1); }
  __host__ __device__ int y() const { return chan() + 2 * kLanes; }
  __host__ __device__ int hB() const { return y() + groups * T * 33; }
  __host__ __device__ int wa() const { return hB() + groups * T * 33; }
  __host__ __device__ size_t bytes() const { return sizeof(float) * size_t(wa() + groups * T * 33); }
};

// Everything a kernel may need, passed by value.
template <typename T>
struct KernelArgs {
  int batch, dim, state;
  int64_t len;
  const T *u, *delta, *B, *C, *z, *grad_out;
  const float *A, *D_skip, *delta_bias;
  bool softplus;
  // plan
  int groups, state_pad, channel_blocks, back_channels;
  int tile_grad, tile_grad_log2, tile_bwd, tile_bwd_log2;
  bool vec_io;    // the rows of u, delta, z and out (forward) or grad_out, du, ddelta, dz (backward) may be
                  // read and written as 16-byte vectors (aligned, len fits)
  bool vec_rows;  // likewise the input-dependent B and C rows
  int64_t chunk_len, chunks, bwd_items;
  // forward
  T* out;
  float* saved_out;     // (batch, dim, saved_per_row, state): the state before every kSavedEvery-th step
  float* chunk_start;   // (batch, dim, chunks, state): the state at the start of each chunk
  const float* initial_state;  // (batch, dim, state): the state before step 0, or null for zeros
  float* final_state;          // (batch, dim, state): written after the last step when not null
  // both: saved_out / saved hold saved_per_row = ceil(len / kSavedEvery) states per channel
  const float* saved;   // backward: the forward's saved_out
  int64_t saved_per_row;
  float* chunk_state;   // (batch, dim, chunks, state): a chunk's end state from a zero start, or its
                        // state gradient passed to the chunk before (backward)
  float* chunk_dsum;    // (batch, dim, chunks): Σ Δ over a chunk
  float* chunk_carry;   // (batch, dim, chunks, state): ā h arriving at a chunk's last step from the next
  // backward
  float* checkpoints;   // per block: the state at each tile start of its chunk
  int64_t checkpoint_stride;
  T *du, *ddelta, *dz;
  float *part_A, *part_D, *part_bias, *part_B, *part_C;  // partial sums, reduced afterwards
};

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ float load(const T* p, int64_t i) { return to_float(p[i]); }

template <typename T> __device__ __forceinline__ void store(T* p, int64_t i, float v) {
  if constexpr (std::is_same_v<T, float>) p[i] = v;
  else p[i] = __float2bfloat16_rn(v);
}

// 2^x in one SFU instruction (relative error about 2^-22; subnormal results flush to 0).
__device__ __forceinline__ float exp2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// σ(x) from the fast e^x and reciprocal: within a few float ulps.
__device__ __forceinline__ float fast_sigmoid(float x) { return __frcp_rn(1.0f + __expf(-x)); }

// Δ from v = delta + delta_bias: softplus(v) under the softplus option, else v.
__device__ __forceinline__ float step_size(float v, bool softplus) { return softplus ? numeric::fast_softplus(v) : v; }

// dΔ/dv: σ(v) under softplus below the reference's threshold (above it softplus is v), else 1.
__device__ __forceinline__ float step_slope(float v, bool softplus) {
  return !softplus || v > kSoftplusThreshold ? 1.0f : fast_sigmoid(v);
}

// What a kernel stages per (channel, step) into shared-memory rows of T + 1 floats per channel.
enum : unsigned {
  kOutDelta = 1,   // Δ
  kOutU = 2,       // u
  kOutZ = 4,       // z
  kOutDy = 8,      // g silu(z), or g without z
  kOutSlope = 16,  // dΔ / d delta: σ(v) under softplus, else 1
  kOutGz = 32,     // g σ(z) (1 + z (1 - σ(z))), so that dz = gz y
};

// The rows Stager::store fills (those its kOut names), and the block's channel constants.
struct ChannelRows {
  float *delta = nullptr, *u = nullptr, *z = nullptr, *dy = nullptr, *slope = nullptr, *gz = nullptr;
  const float* bias = nullptr;  // delta_bias of the block's 32 channels (0 when absent)
};

// The block's channel constants in shared memory: delta_bias then D_skip of its 32 channels, zero
// when absent or past the last channel. Written by warp 0; read after the next barrier.
template <typename T> __device__ void put_channel_constants(const KernelArgs<T>& a, int j, float* s_chan) {
  if (threadIdx.x >= kLanes) return;
  const int d = j * kLanes + threadIdx.x;
  s_chan[threadIdx.x] = d < a.dim && a.delta_bias ? a.delta_bias[d] : 0.0f;
  s_chan[kLanes + threadIdx.x] = d < a.dim && a.D_skip ? a.D_skip[d] : 0.0f;
}

// Stages a tile [t0, t0 + nt) of the block's 32 channels into shared memory. A thread works on one
// step t = threadIdx.x mod T of the tile and on channels first, first + stride, ... (first =
// threadIdx.x / T, stride = blockDim.x / T; blockDim.x is a multiple of T), K channels per round,
// and likewise on states of an input-dependent B, C, KR per round. load() issues a round's loads into
// registers, raw, and store() converts and writes them; called with a tile of compute in between,
// the next tile's loads are in flight while this one is computed (stage() stores the prefetched
// round and does any further rounds directly). Elements past the tile's end, the last channel or the
// last state are written as zeros, which makes such steps leave a state and its gradient unchanged.
template <typename T, int K, int KR, unsigned kOut, bool kB, bool kC>
struct Stager {
  static constexpr bool kLoadU = (kOut & (kOutU)) != 0;
  static constexpr bool kLoadDelta = (kOut & (kOutDelta | kOutSlope)) != 0;
  static constexpr bool kLoadGrad = (kOut & (kOutDy | kOutGz)) != 0;
  static constexpr bool kLoadZ = (kOut & (kOutZ | kOutDy | kOutGz)) != 0;
  T u[K], delta[K], g[K], z[K], B[KR], C[KR];
  unsigned valid, valid_rows;  // bit k: element k is inside the problem

  __device__ void load(const KernelArgs<T>& a, int b, int j, int64_t t0, int nt, int T_, int T_log2, int round) {
    const int t = threadIdx.x & (T_ - 1), first = threadIdx.x >> T_log2, stride = blockDim.x >> T_log2;
    valid = valid_rows = 0;
    if (t >= nt) return;
    const int64_t base = (int64_t(b) * a.dim + j * kLanes) * a.len + t0 + t;
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const int ch = first + (round * K + k) * stride;
      if (ch < kLanes && j * kLanes + ch < a.dim) {
        valid |= 1u << k;
        const int64_t i = base + int64_t(ch) * a.len;
        if constexpr (kLoadU) u[k] = a.u[i];
        if constexpr (kLoadDelta) delta[k] = a.delta[i];
        if constexpr (kLoadGrad) g[k] = a.grad_out[i];
        if constexpr (kLoadZ)
          if (a.z) z[k] = a.z[i];
      }
    }
    if constexpr (kB || kC) {
      const int64_t base_rows = int64_t(b) * a.state * a.len + t0 + t;
#pragma unroll
      for (int k = 0; k < KR; ++k) {
        const int n = first + (round * KR + k) * stride;
        if (n < a.state) {
          valid_rows |= 1u << k;
          if constexpr (kB) B[k] = a.B[base_rows + int64_t(n) * a.len];
          if constexpr (kC) C[k] = a.C[base_rows + int64_t(n) * a.len];
        }
      }
    }
  }

  __device__ void store(const KernelArgs<T>& a, int T_, int T_log2, int round, const ChannelRows& rows, float* s_B,
                        float* s_C, int row_bc) const {
    const int t = threadIdx.x & (T_ - 1), first = threadIdx.x >> T_log2, stride = blockDim.x >> T_log2;
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const int ch = first + (round * K + k) * stride;
      if (ch >= kLanes) break;
      const bool ok = valid >> k & 1;
      float dt = 0.0f, slope = 1.0f, zz = 0.0f, dy = 0.0f, gz = 0.0f;
      if constexpr (kLoadDelta) {
        // Branch free, so the elements' softplus chains interleave.
        const float v = to_float(delta[k]) + rows.bias[ch];
        dt = step_size(v, a.softplus);
        if constexpr ((kOut & kOutSlope) != 0) slope = step_slope(v, a.softplus);
      }
      if constexpr (kLoadZ)
        if (a.z) zz = to_float(z[k]);
      if constexpr (kLoadGrad) {
        dy = to_float(g[k]);
        if (a.z) {
          const float sz = fast_sigmoid(zz);
          gz = dy * sz * (1.0f + zz * (1.0f - sz));
          dy *= zz * sz;
        }
      }
      const int at = ch * (T_ + 1) + t;
      if constexpr ((kOut & kOutDelta) != 0) rows.delta[at] = ok ? dt : 0.0f;
      if constexpr ((kOut & kOutU) != 0) rows.u[at] = ok ? to_float(u[k]) : 0.0f;
      if constexpr ((kOut & kOutZ) != 0) rows.z[at] = ok ? zz : 0.0f;
      if constexpr ((kOut & kOutDy) != 0) rows.dy[at] = ok ? dy : 0.0f;
      if constexpr ((kOut & kOutSlope) != 0) rows.slope[at] = ok ? slope : 0.0f;
      if constexpr ((kOut & kOutGz) != 0) rows.gz[at] = ok ? gz : 0.0f;
    }
    if constexpr (kB || kC) {
#pragma unroll
      for (int k = 0; k < KR; ++k) {
        const int n = first + (round * KR + k) * stride;
        if (n >= a.state_pad) break;
        const bool ok = valid_rows >> k & 1;
        if constexpr (kB) s_B[t * row_bc + n] = ok ? to_float(B[k]) : 0.0f;
        if constexpr (kC) s_C[t * row_bc + n] = ok ? to_float(C[k]) : 0.0f;
      }
    }
  }

  // Stores the prefetched round 0, then loads and stores the rest of the tile.
  __device__ void stage(const KernelArgs<T>& a, int b, int j, int64_t t0, int nt, int T_, int T_log2,
                        const ChannelRows& rows, float* s_B, float* s_C, int row_bc) {
    store(a, T_, T_log2, 0, rows, s_B, s_C, row_bc);
    const int stride = blockDim.x >> T_log2;
    int rounds = (kLanes + K * stride - 1) / (K * stride);
    if constexpr (kB || kC) rounds = max(rounds, (a.state_pad + KR * stride - 1) / (KR * stride));
    for (int r = 1; r < rounds; ++r) {
      load(a, b, j, t0, nt, T_, T_log2, r);
      store(a, T_, T_log2, r, rows, s_B, s_C, row_bc);
    }
  }
};

// v[0..NG) = row[0..NG), a 16-byte-aligned shared-memory row.
template <int NG> __device__ __forceinline__ void load_vec(const float* row, float (&v)[NG]) {
#pragma unroll
  for (int q = 0; q < NG / 4; ++q) {
    const float4 f = reinterpret_cast<const float4*>(row)[q];
    v[4 * q] = f.x;
    v[4 * q + 1] = f.y;
    v[4 * q + 2] = f.z;
    v[4 * q + 3] = f.w;
  }
}

// A per-thread NG-vector in slot s of a buffer laid out [slot][group][NG / 4][lane] as float4, so a
// warp's accesses are contiguous.
template <int NG> __device__ __forceinline__ int64_t vec_index(int64_t slot, int groups, int q) {
  return ((slot * groups + (threadIdx.x >> 5)) * (NG / 4) + q) * kLanes + (threadIdx.x & 31);
}
template <int NG> __device__ __forceinline__ void put_vec(float* buf, int64_t slot, int groups, const float (&v)[NG]) {
#pragma unroll
  for (int q = 0; q < NG / 4; ++q)
    reinterpret_cast<float4*>(buf)[vec_index<NG>(slot, groups, q)] =
        make_float4(v[4 * q], v[4 * q + 1], v[4 * q + 2], v[4 * q + 3]);
}
template <int NG> __device__ __forceinline__ void get_vec(const float* buf, int64_t slot, int groups, float (&v)[NG]) {
#pragma unroll
  for (int q = 0; q < NG / 4; ++q) {
    const float4 f = reinterpret_cast<const float4*>(buf)[vec_index<NG>(slot, groups, q)];
    v[4 * q] = f.x;
    v[4 * q + 1] = f.y;
    v[4 * q + 2] = f.z;
    v[4 * q + 3] = f.w;
  }
}

// B_t or C_t of this warp's states at step t, from shared memory when
// input-dependent, else the thread's constants.
template <int NG, bool kVar>
__device__ __forceinline__ void row_or_const(const float* s_rows, int t, int row, const float (&c)[NG], float (&v)[NG]) {
  if constexpr (kVar) {
    load_vec<NG>(s_rows + t * row + (threadIdx.x >> 5) * NG, v);
  } else {
#pragma unroll
    for (int k = 0; k < NG; ++k) v[k] = c[k];
  }
}

// This thread's constants: a2 = A[d, n] log2(e) (so that exp(Δ a) = 2^(Δ a2)) and, when time-invariant,
// B[d, n] and C[d, n]; zero for n >= state or d >= dim.
template <int NG, bool kBVar, bool kCVar, typename T>
__device__ void load_channel(const KernelArgs<T>& a, int d, float (&a2)[NG], float (&Bi)[NG], float (&Ci)[NG]) {
  const int n0 = (threadIdx.x >> 5) * NG;
#pragma unroll
  for (int k = 0; k < NG; ++k) {
    const bool ok = d < a.dim && n0 + k < a.state;
    const int64_t i = int64_t(d) * a.state + n0 + k;
    a2[k] = ok ? a.A[i] * kLog2e : 0.0f;
    Bi[k] = !kBVar && ok ? load(a.B, i) : 0.0f;
    Ci[k] = !kCVar && ok ? load(a.C, i) : 0.0f;
  }
}

// Lanes in time (forward, and backward for N <= kStateGroup), kLaneItems steps per lane: stages states
// n0..n0 + count of the input-dependent B and/or C over the segment [t0, t0 + 32 kLaneItems) into
// shared memory as [state][kLaneItems / 4][lane] float4, zero at or past t_end. Each thread moves runs
// of 8 steps.
template <int kLaneItems, typename T, bool kB, bool kC>
__device__ void stage_rows(const KernelArgs<T>& a, int b, int n0, int count, int64_t t0, int64_t t_end, float4* s_B,
                           float4* s_C) {
  constexpr int kRun = 8, kRunsPerRow = kLanes * kLaneItems / kRun, kQuads = kLaneItems / 4;
  for (int e = threadIdx.x; e < count * kRunsPerRow; e += blockDim.x) {
    const int k = e / kRunsPerRow, m = e % kRunsPerRow;
    const int64_t t = t0 + m * kRun, row = (int64_t(b) * a.state + n0 + k) * a.len;
    const bool vec = a.vec_rows && t + kRun <= t_end;
    // Steps 8m..8m+7 of the segment are lane m / (kLaneItems / 8)'s items 8 (m % (kLaneItems / 8)) ..
    // + 7: float4s q and q + 1.
    constexpr int kRunsPerLane = kLaneItems / kRun;
    const int at = (k * kQuads + (m % kRunsPerLane) * 2) * kLanes + m / kRunsPerLane;
    float v[kRun];
    if constexpr (kB) {
      numeric::load_run<kRun>(a.B + row, t, t_end, vec, v);
      s_B[at] = make_float4(v[0], v[1], v[2], v[3]);
      s_B[at + kLanes] = make_float4(v[4], v[5], v[6], v[7]);
    }
    if constexpr (kC) {
      numeric::load_run<kRun>(a.C + row, t, t_end, vec, v);
      s_C[at] = make_float4(v[0], v[1], v[2], v[3]);
      s_C[at + kLanes] = make_float4(v[4], v[5], v[6], v[7]);
    }
  }
}

// The lane's kLaneItems values of staged state k, or the channel's constant when time-invariant.
template <int kLaneItems, bool kVar>
__device__ __forceinline__ void items_of(const float4* s_rows, int k, float constant, float (&v)[kLaneItems]) {
  if constexpr (kVar) {
    const int lane = threadIdx.x & 31;
#pragma unroll
    for (int q = 0; q < kLaneItems / 4; ++q) {
      const float4 f = s_rows[(k * (kLaneItems / 4) + q) * kLanes + lane];
      v[4 * q] = f.x;
      v[4 * q + 1] = f.y;
      v[4 * q + 2] = f.z;
      v[4 * q + 3] = f.w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < kLaneItems; ++i) v[i] = constant;
  }
}

// Kernel launchers, one instantiation per (T, [NG,] B variable, C variable); defined in
// selective_scan_forward.cu and selective_scan_backward.cu.
template <typename T, bool kBVar, bool kCVar>
void launch_forward(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream);
template <typename T, bool kBVar, bool kCVar>
void launch_chunk_end_states(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream);
template <typename T, int NG, bool kBVar, bool kCVar>
void launch_chunk_state_grads(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream);
template <typename T, int NG, bool kBVar, bool kCVar>
void launch_backward(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream);
template <typename T, bool kBVar, bool kCVar>
void launch_backward_time(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream);
// Blocks of the backward kernel that fit on one multiprocessor with `smem` bytes of shared memory.
template <typename T, int NG, bool kBVar, bool kCVar>
int backward_blocks_per_sm(int threads, size_t smem);

}  // namespace krait::kernels::cuda::scan
