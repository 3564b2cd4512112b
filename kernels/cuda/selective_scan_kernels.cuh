// kernels/cuda/selective_scan_kernels.cuh — internal to the CUDA selective scan: the launch plan,
// the arguments every kernel takes, the shared-memory layouts and the device helpers shared by the
// forward (selective_scan_forward.cu) and backward (selective_scan_backward.cu) kernels.
//
// Thread layout (docs/selective_scan_cuda.md): a block owns 32 channels d of one batch element b
// (lane = channel) and one chunk of time; warp w holds the states n in [w NG, (w + 1) NG) of its
// lane's channel in registers, so a block has ceil(N / NG) warps.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

namespace krait::kernels::cuda::scan {

constexpr int kLanes = 32;    // channels per block
constexpr int kPrefetch = 8;  // elements of each staged input a thread loads per round (see Stager)
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
  int tile_fwd = 32, tile_bwd = 16;  // time steps staged in shared memory at once (powers of two)
  int64_t chunk_len = 0, chunks = 1;  // time is cut into chunks of chunk_len (a multiple of 64)
  int64_t bwd_items = 0;      // backward work items: (channel block, chunk, batch)
  int bwd_grid = 0;           // backward blocks; each loops over items
  size_t fwd_smem = 0, bwd_smem = 0;
};

constexpr int log2_int(int x) {
  int r = 0;
  while ((1 << r) < x) ++r;
  return r;
}

// Launch bounds: up to 4 warps (N <= 16) with registers for three blocks per multiprocessor, or up
// to 16 (N = 256 in groups of 16).
template <int NG> constexpr int max_threads() { return NG == 4 ? 128 : 512; }
template <int NG> constexpr int min_blocks() { return NG == 4 ? 3 : 1; }

// Shared memory of the forward-direction kernels (forward, chunk end states, chunk state gradients),
// in floats. Per (time, state): B, C rows of state_pad + 4 floats (the padding spreads the staging
// stores over banks; rows stay 16-byte aligned for float4 reads). Per (channel, time): rows of T + 1
// floats (odd, so a warp reading one time step of 32 channels hits 32 banks): Δ, u, and z (dy in the
// gradient carry). Per (group, time, channel): each warp's partial y, rows of 33.
struct ForwardSmem {
  int T, groups, row_bc;
  __host__ __device__ ForwardSmem(int tile, int groups_, int state_pad)
      : T(tile), groups(groups_), row_bc(state_pad + 4) {}
  __host__ __device__ int B() const { return 0; }
  __host__ __device__ int C() const { return T * row_bc; }
  __host__ __device__ int delta() const { return 2 * T * row_bc; }
  __host__ __device__ int u() const { return delta() + kLanes * (T + 1); }
  __host__ __device__ int extra() const { return u() + kLanes * (T + 1); }
  __host__ __device__ int y() const { return extra() + kLanes * (T + 1); }
  __host__ __device__ size_t bytes() const { return sizeof(float) * size_t(y() + groups * T * 33); }
};

// Shared memory of the backward kernel, in floats: the states x_t of every thread over the tile
// (float4-aligned, first), B and C rows, the tile's dB, dC summed over the channels (state_pad per
// step), per (channel, time) Δ, u, dy, σ(v) (reused for ddelta once read) and g σ(z)(1 + z(1 - σ(z))),
// then per (group, time, channel) the warps' partial y, Σ h B and Σ w a.
struct BackwardSmem {
  int T, groups, state_pad, row_bc;
  __host__ __device__ BackwardSmem(int tile, int groups_, int state_pad_)
      : T(tile), groups(groups_), state_pad(state_pad_), row_bc(state_pad_ + 4) {}
  __host__ __device__ int x() const { return 0; }
  __host__ __device__ int B() const { return T * state_pad * kLanes; }
  __host__ __device__ int C() const { return B() + T * row_bc; }
  __host__ __device__ int dB() const { return C() + T * row_bc; }
  __host__ __device__ int dC() const { return dB() + T * state_pad; }
  __host__ __device__ int delta() const { return dC() + T * state_pad; }
  __host__ __device__ int u() const { return delta() + kLanes * (T + 1); }
  __host__ __device__ int dy() const { return u() + kLanes * (T + 1); }
  __host__ __device__ int slope() const { return dy() + kLanes * (T + 1); }
  __host__ __device__ int gz() const { return slope() + kLanes * (T + 1); }
  __host__ __device__ int y() const { return gz() + kLanes * (T + 1); }
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
  int groups, state_pad, channel_blocks;
  int tile_fwd, tile_fwd_log2, tile_bwd, tile_bwd_log2;
  int64_t chunk_len, chunks, bwd_items;
  // forward
  T* out;
  const float* saved;   // (batch, dim, chunks - 1, state): the state at the start of chunks 1..
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

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// The inputs a kernel stages per (channel, step).
enum : unsigned { kStageU = 1, kStageDelta = 2, kStageGrad = 4, kStageZ = 8 };

// Shared-memory rows (T + 1 floats per channel) that Stager::store fills; null when not wanted.
struct ChannelRows {
  float* delta = nullptr;  // Δ
  float* u = nullptr;
  float* z = nullptr;
  float* dy = nullptr;     // g silu(z), or g without z
  float* slope = nullptr;  // dΔ / d delta: σ(v) under softplus, else 1
  float* gz = nullptr;     // g σ(z) (1 + z (1 - σ(z))), so that dz = gz y
};

// Stages a tile [t0, t0 + nt) of the block's 32 channels into shared memory in rounds of kPrefetch
// elements per thread and input: element k of round r is e = threadIdx.x + (r kPrefetch + k) blockDim.x
// of the (channel, step) grid (e = channel T + step), and likewise of the (state, step) grid of an
// input-dependent B, C. load() issues round 0's loads into registers, raw, and store() converts and
// writes it (then loads and writes any further rounds directly); called with a tile of compute in
// between, the loads of the next tile are in flight while this one is computed. Elements past the
// tile's end, the last channel or the last state are written as zeros, which makes such steps leave
// a state and its gradient unchanged.
template <typename T, unsigned kWhat, bool kB, bool kC>
struct Stager {
  T u[kPrefetch], delta[kPrefetch], g[kPrefetch], z[kPrefetch], B[kPrefetch], C[kPrefetch];
  unsigned valid, valid_rows;  // bit k: element k is inside the problem

  __device__ void load(const KernelArgs<T>& a, int b, int j, int64_t t0, int nt, int T_, int T_log2, int round) {
    valid = valid_rows = 0;
#pragma unroll
    for (int k = 0; k < kPrefetch; ++k) {
      const int e = threadIdx.x + (round * kPrefetch + k) * blockDim.x;
      const int ch = e >> T_log2, t = e & (T_ - 1), d = j * kLanes + ch;
      if (e < kLanes * T_ && d < a.dim && t < nt) {
        valid |= 1u << k;
        const int64_t i = (int64_t(b) * a.dim + d) * a.len + t0 + t;
        if constexpr ((kWhat & kStageU) != 0) u[k] = a.u[i];
        if constexpr ((kWhat & kStageDelta) != 0) delta[k] = a.delta[i];
        if constexpr ((kWhat & kStageGrad) != 0) g[k] = a.grad_out[i];
        if constexpr ((kWhat & kStageZ) != 0)
          if (a.z) z[k] = a.z[i];
      }
      if constexpr (kB || kC) {
        const int n = e >> T_log2;
        if (e < a.state_pad * T_ && n < a.state && t < nt) {
          valid_rows |= 1u << k;
          const int64_t i = (int64_t(b) * a.state + n) * a.len + t0 + t;
          if constexpr (kB) B[k] = a.B[i];
          if constexpr (kC) C[k] = a.C[i];
        }
      }
    }
  }

  __device__ void store(const KernelArgs<T>& a, int j, int T_, int T_log2, int round, const ChannelRows& rows,
                        float* s_B, float* s_C, int row_bc) {
#pragma unroll
    for (int k = 0; k < kPrefetch; ++k) {
      const int e = threadIdx.x + (round * kPrefetch + k) * blockDim.x;
      const int ch = e >> T_log2, t = e & (T_ - 1), d = j * kLanes + ch, at = ch * (T_ + 1) + t;
      if (e < kLanes * T_) {
        float dt = 0.0f, slope = 0.0f, uu = 0.0f, zz = 0.0f, dy = 0.0f, gz = 0.0f;
        if (valid >> k & 1) {
          if constexpr ((kWhat & kStageDelta) != 0) {
            const float v = to_float(delta[k]) + (a.delta_bias ? a.delta_bias[d] : 0.0f);
            const bool linear = !a.softplus || v > kSoftplusThreshold;
            dt = linear ? v : log1pf(expf(v));
            if (rows.slope) slope = linear ? 1.0f : sigmoid(v);
          }
          if constexpr ((kWhat & kStageU) != 0) uu = to_float(u[k]);
          if constexpr ((kWhat & kStageZ) != 0)
            if (a.z) zz = to_float(z[k]);
          if constexpr ((kWhat & kStageGrad) != 0) {
            dy = to_float(g[k]);
            if (a.z) {
              const float sz = sigmoid(zz);
              gz = dy * sz * (1.0f + zz * (1.0f - sz));
              dy *= zz * sz;
            }
          }
        }
        if (rows.delta) rows.delta[at] = dt;
        if (rows.u) rows.u[at] = uu;
        if (rows.z) rows.z[at] = zz;
        if (rows.dy) rows.dy[at] = dy;
        if (rows.slope) rows.slope[at] = slope;
        if (rows.gz) rows.gz[at] = gz;
      }
      if constexpr (kB || kC) {
        const int n = e >> T_log2;
        if (e < a.state_pad * T_) {
          const bool ok = valid_rows >> k & 1;
          if constexpr (kB) s_B[t * row_bc + n] = ok ? to_float(B[k]) : 0.0f;
          if constexpr (kC) s_C[t * row_bc + n] = ok ? to_float(C[k]) : 0.0f;
        }
      }
    }
  }

  // Stores the prefetched round 0, then loads and stores the rest of the tile.
  __device__ void stage(const KernelArgs<T>& a, int b, int j, int64_t t0, int nt, int T_, int T_log2,
                        const ChannelRows& rows, float* s_B, float* s_C, int row_bc) {
    store(a, j, T_, T_log2, 0, rows, s_B, s_C, row_bc);
    const int per_round = kPrefetch * blockDim.x;
    const int rounds = (max(kLanes, (kB || kC) ? a.state_pad : 0) * T_ + per_round - 1) / per_round;
    for (int r = 1; r < rounds; ++r) {
      load(a, b, j, t0, nt, T_, T_log2, r);
      store(a, j, T_, T_log2, r, rows, s_B, s_C, row_bc);
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

// Kernel launchers, one instantiation per (T, NG, B variable, C variable); defined in
// selective_scan_forward.cu and selective_scan_backward.cu.
template <typename T, int NG, bool kBVar, bool kCVar>
void launch_forward(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream);
template <typename T, int NG, bool kBVar, bool kCVar>
void launch_chunk_end_states(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream);
template <typename T, int NG, bool kBVar, bool kCVar>
void launch_chunk_state_grads(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream);
template <typename T, int NG, bool kBVar, bool kCVar>
void launch_backward(const KernelArgs<T>& a, const Plan& plan, cudaStream_t stream);
// Blocks of the backward kernel that fit on one multiprocessor with `smem` bytes of shared memory.
template <typename T, int NG, bool kBVar, bool kCVar>
int backward_blocks_per_sm(int threads, size_t smem);

}  // namespace krait::kernels::cuda::scan
