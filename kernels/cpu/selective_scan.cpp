// kernels/cpu/selective_scan.cpp — the CPU reference selective scan (see selective_scan.h and
// docs/selective_scan.md). The work is split into tasks of one batch element b and a fixed block of
// channels d. Within a channel, time runs in the outer loop and the N independent recurrences in the
// inner one, which vectorizes over n; B and C of batch b are read as (L, N) rows, transposed once
// per task. Sums shared between tasks are reduced in a fixed order, so results do not depend on the
// thread count.
#include "kernels/cpu/selective_scan.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/fast_math.h"
#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {
namespace {

// Channels per task. Fixed, not derived from the thread count: the backward sums dB and dC over the
// tasks of a batch element, and that sum must always be grouped the same way.
constexpr int64_t kChannelsPerTask = 64;

// Mamba's default state size N, for which the channel loops are compiled with N a constant: their n
// loops unroll and the states stay in registers (about 30% faster). Same results as for any N.
constexpr int64_t kUsualState = 16;

// The helpers of channel_forward and channel_backward are always inlined into them, so that they are
// compiled for every target those are cloned for. Their pointer arguments are __restrict, which lets
// GCC vectorize the n loops without run-time overlap checks.

// e^x and softplus in the loops: the vectorizable versions of fast_exp.h for float; double keeps
// the standard library.
inline float exp_of(float x) { return fast_exp(x); }
inline double exp_of(double x) { return std::exp(x); }
inline float softplus(float x) { return fast_softplus(x); }
inline double softplus(double x) { return std::log1p(std::exp(x)); }

template <typename T> T sigmoid(T x) { return T(1) / (T(1) + exp_of(-x)); }

// Σ_n a[n] b[n] for n < N in a fixed order that vectorizes (GCC reassociates no floating-point sum
// on its own): 8 partial sums over interleaved terms, folded pairwise, then the N % 8 last terms.
template <typename T> [[gnu::always_inline]] inline T dot(const T* a, const T* b, int64_t N) {
  T acc[8] = {};
  int64_t n = 0;
  for (; n + 8 <= N; n += 8)
    for (int64_t k = 0; k < 8; ++k) acc[k] += a[n + k] * b[n + k];
  for (int64_t width = 4; width > 0; width /= 2)
    for (int64_t k = 0; k < width; ++k) acc[k] += acc[k + width];
  for (; n < N; ++n) acc[0] += a[n] * b[n];
  return acc[0];
}

// dst (cols, rows) = the transpose of src (rows, cols).
template <typename T> void transpose(const T* src, int64_t rows, int64_t cols, T* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

// B, C or their gradients as seen by one channel: row t holds the N values at time t. Rows of an
// (L, N) buffer when input-dependent; the channel's one row, repeated (stride 0), when time-invariant.
template <typename T> struct Rows {
  T* data;
  int64_t stride;
  T* operator[](int64_t t) const { return data + t * stride; }
};

// The input-dependent B and C of one batch element, transposed to (L, N); empty when time-invariant.
template <typename T> struct BatchRows {
  std::vector<T> B, C;

  explicit BatchRows(const ScanProblem<T>& p)
      : B(p.B_variable ? p.len * p.state : 0), C(p.C_variable ? p.len * p.state : 0) {}
  void load(const ScanProblem<T>& p, int64_t b) {
    if (p.B_variable) transpose(p.B + b * p.state * p.len, p.state, p.len, B.data());
    if (p.C_variable) transpose(p.C + b * p.state * p.len, p.state, p.len, C.data());
  }
  Rows<const T> B_of(const ScanProblem<T>& p, int64_t d) const {
    return p.B_variable ? Rows<const T>{B.data(), p.state} : Rows<const T>{p.B + d * p.state, 0};
  }
  Rows<const T> C_of(const ScanProblem<T>& p, int64_t d) const {
    return p.C_variable ? Rows<const T>{C.data(), p.state} : Rows<const T>{p.C + d * p.state, 0};
  }
};

// Per-channel scratch, reused by the channels of a task.
template <typename T> struct ChannelScratch {
  std::vector<T> dt, slope, y, dy;  // (L)
  std::vector<T> decay;             // (L + 1, N): row t is exp(Δ_t a); row L stays zero
  std::vector<T> x;                 // (L + 1, N): row t + 1 is the state x_t; row 0 is x_{-1}: 0, or the
                                    // problem's initial_state (then set by every channel)
  std::vector<T> h, w;              // (N): see channel_backward

  explicit ChannelScratch(const ScanProblem<T>& p)
      : dt(p.len), slope(p.len), y(p.len), dy(p.len), decay((p.len + 1) * p.state), x((p.len + 1) * p.state),
        h(p.state), w(p.state) {}
};

// Δ_t of channel (b, d) into dt.
template <typename T>
[[gnu::always_inline]] inline void channel_delta(const ScanProblem<T>& p, int64_t b, int64_t d, T* dt) {
  const T* delta = p.delta + (b * p.dim + d) * p.len;
  const T bias = p.delta_bias ? p.delta_bias[d] : T(0);
  if (!p.delta_softplus) {
    for (int64_t t = 0; t < p.len; ++t) dt[t] = delta[t] + bias;
    return;
  }
  for (int64_t t = 0; t < p.len; ++t) {
    const T v = delta[t] + bias;
    dt[t] = branchless_select(v > T(kSoftplusThreshold), v, softplus(v));
  }
}

// dΔ_t / d delta_t of channel (b, d) into slope.
template <typename T>
[[gnu::always_inline]] inline void channel_delta_slope(const ScanProblem<T>& p, int64_t b, int64_t d, T* slope) {
  const T* delta = p.delta + (b * p.dim + d) * p.len;
  const T bias = p.delta_bias ? p.delta_bias[d] : T(0);
  if (!p.delta_softplus) {
    std::fill_n(slope, p.len, T(1));
    return;
  }
  for (int64_t t = 0; t < p.len; ++t) {
    const T v = delta[t] + bias;
    slope[t] = branchless_select(v > T(kSoftplusThreshold), T(1), sigmoid(v));
  }
}

// decay[t, n] = exp(dt[t] a[n]) for t < L, n < N.
template <typename T>
[[gnu::always_inline]] inline void decays(int64_t L, int64_t N, const T* __restrict dt, const T* __restrict a,
                                          T* __restrict decay) {
  for (int64_t t = 0; t < L; ++t)
    for (int64_t n = 0; n < N; ++n) decay[t * N + n] = exp_of(dt[t] * a[n]);
}

// One time step of a channel's N recurrences, x = decay prev + Δ_t u_t B_t; returns Σ_n C_t[n] x[n].
template <typename T>
[[gnu::always_inline]] inline T forward_step(int64_t N, T dt_u, const T* __restrict decay, const T* __restrict prev,
                                             const T* __restrict B, const T* __restrict C, T* __restrict x) {
  for (int64_t n = 0; n < N; ++n) x[n] = decay[n] * prev[n] + dt_u * B[n];
  return dot(C, x, N);
}

// Channel (b, d) forward from s.dt: the decays into s.decay, the states x_t into s.x and
// y_t = Σ_n C_t[n] x_t[n] + D u_t (before the gate) into s.y. N = p.state, maybe as a constant.
template <typename T>
[[gnu::always_inline]] inline void channel_scan(const ScanProblem<T>& p, int64_t b, int64_t d, int64_t N,
                                                Rows<const T> B, Rows<const T> C, ChannelScratch<T>& s) {
  const T* u = p.u + (b * p.dim + d) * p.len;
  const T skip = p.D_skip ? p.D_skip[d] : T(0);
  decays(p.len, N, s.dt.data(), p.A + d * N, s.decay.data());
  for (int64_t t = 0; t < p.len; ++t) {
    T* x_prev = s.x.data() + t * N;
    const T Cx = forward_step(N, s.dt[t] * u[t], s.decay.data() + t * N, x_prev, B[t], C[t], x_prev + N);
    s.y[t] = Cx + skip * u[t];
  }
}

// out = y silu(z) of channel (b, d) when the problem has z; otherwise out = y.
template <typename T>
[[gnu::always_inline]] inline void gate_forward(const ScanProblem<T>& p, int64_t b, int64_t d, const T* y, T* out) {
  if (!p.z) {
    std::copy_n(y, p.len, out);
    return;
  }
  const T* z = p.z + (b * p.dim + d) * p.len;
  for (int64_t t = 0; t < p.len; ++t) out[t] = y[t] * (z[t] * sigmoid(z[t]));
}

// The forward of channel (b, d) into out. kState is the state size N when it is fixed at compile
// time (see kUsualState), 0 when it is read from p. Compiled for AVX2+FMA with a portable fallback
// chosen at run time; likewise channel_backward.
template <typename T, int64_t kState>
__attribute__((target_clones("arch=x86-64-v3", "default")))
void channel_forward(const ScanProblem<T>& p, int64_t b, int64_t d, Rows<const T> B, Rows<const T> C,
                     ChannelScratch<T>& s, T* out) {
  const int64_t N = kState ? kState : p.state, state_off = (b * p.dim + d) * N;
  channel_delta(p, b, d, s.dt.data());
  if (p.initial_state) std::copy_n(p.initial_state + state_off, N, s.x.data());
  channel_scan(p, b, d, N, B, C, s);
  if (p.final_state) std::copy_n(s.x.data() + p.len * N, N, p.final_state + state_off);
  gate_forward(p, b, d, s.y.data(), out + (b * p.dim + d) * p.len);
}

// Through the gate out = y silu(z) of channel (b, d): dy = g silu(z) into s.dy, dz = g y silu'(z).
template <typename T>
[[gnu::always_inline]] inline void gate_backward(const ScanProblem<T>& p, int64_t b, int64_t d, const T* grad_out,
                                                 const ScanGrads<T>& g, ChannelScratch<T>& s) {
  const int64_t off = (b * p.dim + d) * p.len;
  const T* go = grad_out + off;
  if (!p.z) {
    std::copy_n(go, p.len, s.dy.data());
    return;
  }
  const T* z = p.z + off;
  for (int64_t t = 0; t < p.len; ++t) {
    const T sz = sigmoid(z[t]);
    s.dy[t] = go[t] * z[t] * sz;
    g.z[off + t] = go[t] * s.y[t] * sz * (T(1) + z[t] * (T(1) - sz));
  }
}

// Where channel (b, d) adds its terms of the gradients shared with other channels (zeroed before the
// first channel adds to them).
template <typename T> struct ChannelGrads {
  T* A;           // (N): dA[d, :] of this channel, summed over b afterwards
  T* D_skip;      // dD_skip[d] of this channel, likewise
  T* delta_bias;  // ddelta_bias[d] of this channel, likewise
  Rows<T> B, C;   // the task's (L, N) sums when input-dependent; this channel's (N) when time-invariant
};

// One reverse time step t of a channel's N recurrences: the state gradient
// h = dy_t C_t + exp(Δ_{t+1} a) h, then w = h ā_t x_{t-1} (the gradient through ā_t) and the
// terms of t in dA, dB_t, dC_t.
template <typename T>
[[gnu::always_inline]] inline void reverse_step(int64_t N, T dy, T dt, T dt_u, const T* __restrict C,
                                                const T* __restrict decay, const T* __restrict decay_next,
                                                const T* __restrict x_prev, const T* __restrict x, T* __restrict h,
                                                T* __restrict w, T* __restrict dA, T* __restrict dB, T* __restrict dC) {
  for (int64_t n = 0; n < N; ++n) {
    h[n] = dy * C[n] + decay_next[n] * h[n];
    w[n] = h[n] * decay[n] * x_prev[n];
    dA[n] += w[n] * dt;
    dB[n] += h[n] * dt_u;
    dC[n] += dy * x[n];
  }
}

// The backward of channel (b, d): writes its slices of du, ddelta, dz and adds its terms of the
// shared gradients into `shared`. kState and compilation as for channel_forward.
template <typename T, int64_t kState>
__attribute__((target_clones("arch=x86-64-v3", "default")))
void channel_backward(const ScanProblem<T>& p, int64_t b, int64_t d, const T* grad_out, const ScanGrads<T>& g,
                      Rows<const T> B, Rows<const T> C, const ChannelGrads<T>& shared, ChannelScratch<T>& s) {
  const int64_t L = p.len, N = kState ? kState : p.state, off = (b * p.dim + d) * L;
  const T* u = p.u + off;
  const T* a = p.A + d * N;
  T* du = g.u + off;
  T* ddelta = g.delta + off;
  channel_delta(p, b, d, s.dt.data());
  channel_delta_slope(p, b, d, s.slope.data());
  channel_scan(p, b, d, N, B, C, s);
  gate_backward(p, b, d, grad_out, g, s);

  const T skip = p.D_skip ? p.D_skip[d] : T(0);
  T dskip = 0, dbias = 0;
  std::fill(s.h.begin(), s.h.end(), T(0));  // h_L = 0
  for (int64_t t = L - 1; t >= 0; --t) {
    const T dy = s.dy[t], dt = s.dt[t];
    const T* decay = s.decay.data() + t * N;
    const T* x_prev = s.x.data() + t * N;
    reverse_step(N, dy, dt, dt * u[t], C[t], decay, decay + N, x_prev, x_prev + N, s.h.data(), s.w.data(),
                 shared.A, shared.B[t], shared.C[t]);
    // du_t = dy_t D + Δ_t Σ h B_t and dΔ_t = Σ h ā a x_{t-1} + u_t Σ h B_t.
    const T hB = dot(s.h.data(), B[t], N);
    du[t] = dy * skip + dt * hB;
    ddelta[t] = (dot(s.w.data(), a, N) + u[t] * hB) * s.slope[t];
    dskip += dy * u[t];
    dbias += ddelta[t];
  }
  *shared.D_skip = dskip;
  *shared.delta_bias = dbias;
}

// Zeroed sums of the gradients shared between channels: dA, dD_skip, ddelta_bias and a time-invariant
// dB, dC per channel, laid out (batch, dim, ...); an input-dependent dB, dC per task, (L, N) each.
template <typename T> struct SharedSums {
  std::vector<T> A, D_skip, delta_bias, B, C;

  SharedSums(const ScanProblem<T>& p, int64_t tasks)
      : A(p.batch * p.dim * p.state), D_skip(p.batch * p.dim), delta_bias(p.batch * p.dim),
        B(p.B_variable ? tasks * p.len * p.state : p.batch * p.dim * p.state),
        C(p.C_variable ? tasks * p.len * p.state : p.batch * p.dim * p.state) {}

  ChannelGrads<T> of(const ScanProblem<T>& p, int64_t task, int64_t b, int64_t d) {
    const int64_t c = b * p.dim + d, N = p.state, LN = p.len * N;
    return {A.data() + c * N, D_skip.data() + c, delta_bias.data() + c,
            p.B_variable ? Rows<T>{B.data() + task * LN, N} : Rows<T>{B.data() + c * N, 0},
            p.C_variable ? Rows<T>{C.data() + task * LN, N} : Rows<T>{C.data() + c * N, 0}};
  }
};

// Tasks per batch element: the blocks of kChannelsPerTask channels.
int64_t channel_blocks(int64_t dim) { return (dim + kChannelsPerTask - 1) / kChannelsPerTask; }

}  // namespace

template <typename T> void selective_scan_forward(const ScanProblem<T>& p, T* out) {
  const int64_t blocks = channel_blocks(p.dim);
  const auto forward = p.state == kUsualState ? channel_forward<T, kUsualState> : channel_forward<T, 0>;
  parallel_for(p.batch * blocks, kChannelsPerTask * p.len * p.state * 4, [&](int64_t begin, int64_t end) {
    BatchRows<T> rows(p);
    ChannelScratch<T> scratch(p);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / blocks, d0 = task % blocks * kChannelsPerTask;
      rows.load(p, b);
      for (int64_t d = d0; d < std::min(p.dim, d0 + kChannelsPerTask); ++d)
        forward(p, b, d, rows.B_of(p, d), rows.C_of(p, d), scratch, out);
    }
  });
}

template <typename T> void selective_scan_backward(const ScanProblem<T>& p, const T* grad_out, const ScanGrads<T>& g) {
  const int64_t N = p.state, L = p.len, blocks = channel_blocks(p.dim);
  SharedSums<T> sums(p, p.batch * blocks);
  const auto backward = p.state == kUsualState ? channel_backward<T, kUsualState> : channel_backward<T, 0>;
  parallel_for(p.batch * blocks, kChannelsPerTask * L * N * 12, [&](int64_t begin, int64_t end) {
    BatchRows<T> rows(p);
    ChannelScratch<T> scratch(p);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / blocks, d0 = task % blocks * kChannelsPerTask;
      rows.load(p, b);
      for (int64_t d = d0; d < std::min(p.dim, d0 + kChannelsPerTask); ++d)
        backward(p, b, d, grad_out, g, rows.B_of(p, d), rows.C_of(p, d), sums.of(p, task, b, d), scratch);
    }
  });

  // An input-dependent dB[b] (or dC[b]) is the sum of batch b's task sums, in order, transposed.
  const auto sum_over_tasks = [&](std::vector<T>& part, T* out) {
    parallel_for(p.batch, blocks * L * N, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        T* sum = part.data() + b * blocks * L * N;
        for (int64_t k = 1; k < blocks; ++k)
          for (int64_t i = 0; i < L * N; ++i) sum[i] += sum[k * L * N + i];
        transpose(sum, L, N, out + b * N * L);
      }
    });
  };
  // The other shared gradients are sums over the batch, in order of b.
  const auto sum_over_batch = [&](const std::vector<T>& part, T* out, int64_t inner) {
    std::fill_n(out, p.dim * inner, T(0));
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t i = 0; i < p.dim * inner; ++i) out[i] += part[b * p.dim * inner + i];
  };
  sum_over_batch(sums.A, g.A, N);
  if (p.D_skip) sum_over_batch(sums.D_skip, g.D_skip, 1);
  if (p.delta_bias) sum_over_batch(sums.delta_bias, g.delta_bias, 1);
  if (p.B_variable) sum_over_tasks(sums.B, g.B);
  else sum_over_batch(sums.B, g.B, N);
  if (p.C_variable) sum_over_tasks(sums.C, g.C);
  else sum_over_batch(sums.C, g.C, N);
}

template void selective_scan_forward<float>(const ScanProblem<float>&, float*);
template void selective_scan_forward<double>(const ScanProblem<double>&, double*);
template void selective_scan_backward<float>(const ScanProblem<float>&, const float*, const ScanGrads<float>&);
template void selective_scan_backward<double>(const ScanProblem<double>&, const double*, const ScanGrads<double>&);

}  // namespace krait::kernels::cpu
