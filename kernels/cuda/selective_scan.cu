// kernels/cuda/selective_scan.cu — the host side of the CUDA selective scan (selective_scan.h): the
// launch plan (chunks, tiles, the backward's grid), the buffer sizes, the forward and backward
// launchers, and two small kernels of its own: the sequential carry of states (and state gradients)
// across chunks, and the fixed-order sums of the backward's partial gradients.
#include "kernels/cuda/selective_scan.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/selective_scan_kernels.cuh"

namespace krait::kernels::cuda {
namespace {

using scan::kLanes;
using scan::Plan;

// Per-block checkpoint budget of the backward (the state at every tile start of a chunk); it bounds
// the chunk length and so keeps the backward workspace small for any L.
constexpr size_t kCheckpointBytes = 512 * 1024;
// Shared memory per backward block that lets three blocks share an H100 multiprocessor.
constexpr size_t kBackwardSmemTarget = 72 * 1024;
// Chunk lengths are multiples of every tile and of the forward's saved-state spacing, so that each
// chunk starts at a saved state.
constexpr int64_t kChunkAlign = scan::kSavedEvery;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Whether rows of length len in these buffers (null ones skipped) may be read and written as 16-byte
// vectors: len a whole number of vectors and every buffer 16-byte aligned.
template <typename T> bool vector_rows(const ScanProblem<T>& p, std::initializer_list<const void*> buffers) {
  if (p.len % (16 / int64_t(sizeof(T))) != 0) return false;
  for (const void* b : buffers)
    if (b && !aligned16(b)) return false;
  return true;
}
template <typename T> int64_t saved_per_row(const ScanProblem<T>& p) { return ceil_div(p.len, scan::kSavedEvery); }

// Calls f(NG, B variable, C variable) with each as a compile-time constant, for the plan's NG.
template <typename F> void dispatch(const Plan& plan, bool b_var, bool c_var, F&& f) {
  const auto with_ng = [&](auto ng) {
    if (b_var && c_var) f(ng, std::true_type{}, std::true_type{});
    else if (b_var) f(ng, std::true_type{}, std::false_type{});
    else if (c_var) f(ng, std::false_type{}, std::true_type{});
    else f(ng, std::false_type{}, std::false_type{});
  };
  if (plan.ng == 4) with_ng(std::integral_constant<int, 4>{});
  else with_ng(std::integral_constant<int, 16>{});
}

template <typename T> void check_problem(const ScanProblem<T>& p) {
  KRAIT_CHECK(p.batch >= 0 && p.dim >= 0 && p.len >= 0, "selective_scan (cuda): negative size");
  KRAIT_CHECK(p.state >= 1 && p.state <= 256, "selective_scan (cuda): state size ", p.state, " not in 1..256");
  KRAIT_CHECK(p.batch <= 65535, "selective_scan (cuda): batch ", p.batch, " over 65535");
}

template <typename T> Plan make_plan(const ScanProblem<T>& p) {
  Plan plan;
  plan.ng = p.state <= 16 ? 4 : 16;
  plan.groups = int(ceil_div(p.state, plan.ng));
  plan.state_pad = plan.groups * plan.ng;
  plan.channel_blocks = int(ceil_div(p.dim, kLanes));
  plan.tile_grad = plan.groups <= 4 ? 32 : 16;
  plan.grad_smem = scan::ChunkGradSmem(plan.tile_grad, plan.state_pad).bytes();
  plan.tile_bwd = 4;
  for (const int tile : {32, 16, 8})
    if (scan::BackwardSmem(tile, plan.groups, plan.state_pad).bytes() <= kBackwardSmemTarget) {
      plan.tile_bwd = tile;
      break;
    }
  plan.bwd_smem = scan::BackwardSmem(plan.tile_bwd, plan.groups, plan.state_pad).bytes();

  // Chunks: one when the channel blocks alone fill the GPU twice over; otherwise enough to give
  // about 8 blocks per multiprocessor, at least 256 steps long; for N > kStateGroup never over the
  // lane-per-channel backward's checkpoint budget.
  const int sms = multiprocessor_count();
  const bool lanes_in_time = p.state <= scan::kStateGroup;
  const int64_t channel_blocks = std::max<int64_t>(1, p.batch * plan.channel_blocks);
  const int64_t wanted = channel_blocks >= 2 * sms ? 1 : ceil_div(8 * sms, channel_blocks);
  const size_t checkpoint_per_tile = sizeof(float) * plan.state_pad * kLanes;
  const int64_t max_len =
      lanes_in_time ? INT64_MAX
                    : std::max<int64_t>(kChunkAlign, int64_t(kCheckpointBytes / checkpoint_per_tile) *
                                                         plan.tile_bwd / kChunkAlign * kChunkAlign);
  int64_t chunk_len = ceil_div(ceil_div(std::max<int64_t>(p.len, 1), wanted), kChunkAlign) * kChunkAlign;
  chunk_len = std::min(max_len, chunk_len);
  plan.chunk_len = chunk_len;
  plan.chunks = ceil_div(std::max<int64_t>(p.len, 1), chunk_len);
  KRAIT_CHECK(plan.chunks <= 65535, "selective_scan (cuda): len ", p.len, " needs over 65535 chunks");

  plan.bwd_items = p.batch * plan.chunks * plan.channel_blocks;
  plan.part_blocks = plan.channel_blocks;
  if (lanes_in_time) {
    // Channels per block: the most (fewer partial sums of dB, dC to write and add) whose blocks fill
    // the waves of two blocks per multiprocessor to 85%, else the best filling.
    double best = 0.0;
    for (const int channels : {32, 16, 8}) {
      const int64_t blocks = p.batch * plan.chunks * ceil_div(p.dim, channels);
      const double waves = double(blocks) / (2.0 * sms), filled = waves / std::ceil(waves);
      if (filled > best + 1e-9) {
        best = filled;
        plan.back_channels = channels;
        plan.part_blocks = int(ceil_div(p.dim, channels));
      }
      if (filled >= 0.85) break;
    }
  } else {
    int per_sm = 0;
    dispatch(plan, p.B_variable, p.C_variable, [&](auto ng, auto bv, auto cv) {
      if constexpr (decltype(ng)::value == 16)
        per_sm = scan::backward_blocks_per_sm<T, 16, decltype(bv)::value, decltype(cv)::value>(plan.groups * kLanes,
                                                                                               plan.bwd_smem);
    });
    KRAIT_CHECK(per_sm > 0, "selective_scan (cuda): the backward kernel does not fit on this device");
    plan.bwd_grid = int(std::min<int64_t>(plan.bwd_items, int64_t(per_sm) * sms));
  }
  return plan;
}

// Hands out 256-byte-aligned float arrays from a workspace; with a null base it only counts bytes.
class Carver {
 public:
  explicit Carver(void* base) : base_(static_cast<char*>(base)) {}
  float* take(int64_t count) {
    float* p = base_ ? reinterpret_cast<float*>(base_ + bytes_) : nullptr;
    bytes_ += (size_t(count) * sizeof(float) + 255) / 256 * 256;
    return p;
  }
  size_t bytes() const { return bytes_; }

 private:
  char* base_;
  size_t bytes_ = 0;
};

template <typename T> scan::KernelArgs<T> make_args(const ScanProblem<T>& p, const Plan& plan) {
  scan::KernelArgs<T> a{};
  a.batch = int(p.batch);
  a.dim = int(p.dim);
  a.state = int(p.state);
  a.len = p.len;
  a.u = p.u;
  a.delta = p.delta;
  a.B = p.B;
  a.C = p.C;
  a.z = p.z;
  a.A = p.A;
  a.D_skip = p.D_skip;
  a.delta_bias = p.delta_bias;
  a.softplus = p.delta_softplus;
  a.groups = plan.groups;
  a.state_pad = plan.state_pad;
  a.channel_blocks = plan.channel_blocks;
  a.back_channels = plan.back_channels;
  a.tile_grad = plan.tile_grad;
  a.tile_grad_log2 = scan::log2_int(plan.tile_grad);
  a.tile_bwd = plan.tile_bwd;
  a.tile_bwd_log2 = scan::log2_int(plan.tile_bwd);
  a.chunk_len = plan.chunk_len;
  a.chunks = plan.chunks;
  a.bwd_items = plan.bwd_items;
  a.saved_per_row = saved_per_row(p);
  a.initial_state = p.initial_state;
  a.final_state = p.final_state;
  a.vec_rows = vector_rows(p, {p.B_variable ? p.B : nullptr, p.C_variable ? p.C : nullptr});
  return a;
}

// The forward workspace: each chunk's end state from a zero start and its Σ Δ.
template <typename T> void carve_forward(const ScanProblem<T>& p, const Plan& plan, Carver& w, scan::KernelArgs<T>& a) {
  if (plan.chunks == 1) return;
  a.chunk_state = w.take(p.batch * p.dim * plan.chunks * p.state);
  a.chunk_dsum = w.take(p.batch * p.dim * plan.chunks);
  a.chunk_start = w.take(p.batch * p.dim * plan.chunks * p.state);
}

// The backward workspace: the chunks' state gradients and their carry, the per-block checkpoints,
// and the partial sums of the shared gradients.
template <typename T> void carve_backward(const ScanProblem<T>& p, const Plan& plan, Carver& w, scan::KernelArgs<T>& a) {
  const int64_t bd = p.batch * p.dim, per_chunk = p.batch * plan.chunks * p.dim;
  if (plan.chunks > 1) {
    a.chunk_state = w.take(bd * plan.chunks * p.state);
    a.chunk_dsum = w.take(bd * plan.chunks);
    a.chunk_carry = w.take(bd * plan.chunks * p.state);
  }
  if (p.state > scan::kStateGroup) {  // the lane-per-channel backward's per-block checkpoints
    a.checkpoint_stride = plan.chunk_len / plan.tile_bwd * plan.state_pad * kLanes;
    a.checkpoints = w.take(plan.bwd_grid * a.checkpoint_stride);
  }
  a.part_A = w.take(per_chunk * p.state);
  if (p.D_skip) a.part_D = w.take(per_chunk);
  if (p.delta_bias) a.part_bias = w.take(per_chunk);
  const int64_t variable = int64_t(plan.part_blocks) * p.batch * p.state * p.len;
  a.part_B = w.take(p.B_variable ? variable : per_chunk * p.state);
  a.part_C = w.take(p.C_variable ? variable : per_chunk * p.state);
}

// chunk_start[b, d, c] = the state at the start of chunk c: X_{-1} = the initial state (or 0), then
// X_c = exp(a Σ_chunk c Δ) X_{c-1} + S_c, one thread per (b, d, n), sequential over chunks. Chunk 0's
// start is copied too, so that no block of the forward reads initial_state while the last one
// writes final_state, which may be the same buffer.
__global__ void carry_states_kernel(const float* chunk_state, const float* chunk_dsum, const float* A,
                                    const float* initial_state, int64_t bd_count, int dim, int state, int64_t chunks,
                                    float* chunk_start) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= bd_count * state) return;
  const int64_t bd = i / state;
  const int n = int(i % state);
  const float a = A[(bd % dim) * state + n];
  float x = initial_state ? initial_state[i] : 0.0f;
  chunk_start[bd * chunks * state + n] = x;
  for (int64_t c = 0; c + 1 < chunks; ++c) {
    x = fmaf(expf(a * chunk_dsum[bd * chunks + c]), x, chunk_state[(bd * chunks + c) * state + n]);
    chunk_start[(bd * chunks + c + 1) * state + n] = x;
  }
}

// carry[b, d, c - 1] = what chunk c passes back to the last step of chunk c - 1:
// G_{c-1} = Q_c + exp(a Σ_chunk c Δ) G_c, from G_{last} = 0 (Q_c: chunk c's own, from a zero end).
__global__ void carry_state_grads_kernel(const float* chunk_state, const float* chunk_dsum, const float* A,
                                         int64_t bd_count, int dim, int state, int64_t chunks, float* carry) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= bd_count * state) return;
  const int64_t bd = i / state;
  const int n = int(i % state);
  const float a = A[(bd % dim) * state + n];
  float g = 0.0f;
  for (int64_t c = chunks - 1; c >= 1; --c) {
    g = fmaf(expf(a * chunk_dsum[bd * chunks + c]), g, chunk_state[(bd * chunks + c) * state + n]);
    carry[(bd * chunks + c - 1) * state + n] = g;
  }
}

// out[i] = Σ_p parts[p m + i], summed in order of p.
template <typename Out> __global__ void sum_parts_kernel(const float* parts, int64_t count, int64_t m, Out* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < m; i += int64_t(gridDim.x) * blockDim.x) {
    float s = 0.0f;
    for (int64_t p = 0; p < count; ++p) s += parts[p * m + i];
    scan::store(out, i, s);
  }
}

template <typename Out> void sum_parts(const float* parts, int64_t count, int64_t m, Out* out, cudaStream_t stream) {
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>(ceil_div(m, kThreads), 16 * int64_t(multiprocessor_count()));
  sum_parts_kernel<<<blocks, kThreads, 0, stream>>>(parts, count, m, out);
  KRAIT_CUDA_CHECK_LAUNCH("selective_scan sum_parts_kernel");
}

int carry_blocks(int64_t threads) { return int(ceil_div(threads, 256)); }

}  // namespace

template <typename T> ScanBuffers selective_scan_buffers(const ScanProblem<T>& p) {
  check_problem(p);
  ScanBuffers sizes;
  if (p.batch == 0 || p.dim == 0 || p.len == 0) return sizes;
  const Plan plan = make_plan(p);
  scan::KernelArgs<T> a{};
  Carver forward(nullptr), backward(nullptr);
  carve_forward(p, plan, forward, a);
  carve_backward(p, plan, backward, a);
  sizes.saved_states = sizeof(float) * size_t(p.batch * p.dim * saved_per_row(p) * p.state);
  sizes.forward_workspace = forward.bytes();
  sizes.backward_workspace = backward.bytes();
  return sizes;
}

template <typename T>
void selective_scan_forward(const ScanProblem<T>& p, T* out, float* saved_states, void* workspace, cudaStream_t stream) {
  check_problem(p);
  if (p.batch == 0 || p.dim == 0 || p.len == 0) return;
  const Plan plan = make_plan(p);
  scan::KernelArgs<T> a = make_args(p, plan);
  Carver w(workspace);
  carve_forward(p, plan, w, a);
  a.out = out;
  a.saved_out = saved_states;
  a.vec_io = vector_rows(p, {p.u, p.delta, p.z, out});
  dispatch(plan, p.B_variable, p.C_variable, [&](auto, auto bv, auto cv) {
    constexpr bool BV = decltype(bv)::value, CV = decltype(cv)::value;
    if (plan.chunks > 1) {
      // Pass 1: each chunk's end state from zero; pass 2: carry them across chunks.
      scan::launch_chunk_end_states<T, BV, CV>(a, plan, stream);
      const int64_t threads = p.batch * p.dim * p.state;
      carry_states_kernel<<<carry_blocks(threads), 256, 0, stream>>>(
          a.chunk_state, a.chunk_dsum, p.A, p.initial_state, p.batch * p.dim, a.dim, a.state, plan.chunks, a.chunk_start);
      KRAIT_CUDA_CHECK_LAUNCH("selective_scan carry_states_kernel");
    }
    scan::launch_forward<T, BV, CV>(a, plan, stream);
  });
}

template <typename T>
void selective_scan_backward(const ScanProblem<T>& p, const T* grad_out, const float* saved_states,
                             const ScanGrads<T>& g, void* workspace, cudaStream_t stream) {
  check_problem(p);
  if (p.batch == 0 || p.dim == 0 || p.len == 0) return;
  const Plan plan = make_plan(p);
  scan::KernelArgs<T> a = make_args(p, plan);
  Carver w(workspace);
  carve_backward(p, plan, w, a);
  a.grad_out = grad_out;
  a.saved = saved_states;
  a.du = g.u;
  a.ddelta = g.delta;
  a.dz = g.z;
  a.vec_io = vector_rows(p, {p.u, p.delta, p.z, grad_out, g.u, g.delta, p.z ? g.z : nullptr});
  dispatch(plan, p.B_variable, p.C_variable, [&](auto ng, auto bv, auto cv) {
    constexpr int NG = decltype(ng)::value;
    constexpr bool BV = decltype(bv)::value, CV = decltype(cv)::value;
    if (plan.chunks > 1) {
      // The state gradient each chunk passes back from a zero end, carried across chunks.
      scan::launch_chunk_state_grads<T, NG, BV, CV>(a, plan, stream);
      const int64_t threads = p.batch * p.dim * p.state;
      carry_state_grads_kernel<<<carry_blocks(threads), 256, 0, stream>>>(
          a.chunk_state, a.chunk_dsum, p.A, p.batch * p.dim, a.dim, a.state, plan.chunks, a.chunk_carry);
      KRAIT_CUDA_CHECK_LAUNCH("selective_scan carry_state_grads_kernel");
    }
    if constexpr (NG == 4) scan::launch_backward_time<T, BV, CV>(a, plan, stream);
    else scan::launch_backward<T, NG, BV, CV>(a, plan, stream);
  });

  // The shared gradients: sums of the partials over (batch, chunk), or over channel blocks for an
  // input-dependent dB, dC.
  const int64_t parts = p.batch * plan.chunks;
  sum_parts(a.part_A, parts, p.dim * p.state, g.A, stream);
  if (p.D_skip) sum_parts(a.part_D, parts, p.dim, g.D_skip, stream);
  if (p.delta_bias) sum_parts(a.part_bias, parts, p.dim, g.delta_bias, stream);
  const int64_t variable = p.batch * p.state * p.len;
  if (p.B_variable) sum_parts(a.part_B, plan.part_blocks, variable, g.B, stream);
  else sum_parts(a.part_B, parts, p.dim * p.state, g.B, stream);
  if (p.C_variable) sum_parts(a.part_C, plan.part_blocks, variable, g.C, stream);
  else sum_parts(a.part_C, parts, p.dim * p.state, g.C, stream);
}

template ScanBuffers selective_scan_buffers<float>(const ScanProblem<float>&);
template ScanBuffers selective_scan_buffers<__nv_bfloat16>(const ScanProblem<__nv_bfloat16>&);
template void selective_scan_forward<float>(const ScanProblem<float>&, float*, float*, void*, cudaStream_t);
template void selective_scan_forward<__nv_bfloat16>(const ScanProblem<__nv_bfloat16>&, __nv_bfloat16*, float*, void*,
                                                    cudaStream_t);
template void selective_scan_backward<float>(const ScanProblem<float>&, const float*, const float*,
                                             const ScanGrads<float>&, void*, cudaStream_t);
template void selective_scan_backward<__nv_bfloat16>(const ScanProblem<__nv_bfloat16>&, const __nv_bfloat16*,
                                                     const float*, const ScanGrads<__nv_bfloat16>&, void*,
                                                     cudaStream_t);

}  // namespace krait::kernels::cuda
