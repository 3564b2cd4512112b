// kernels/cpu/selective_scan.cpp — the CPU reference selective scan (see selective_scan.h and
// docs/selective_scan.md). Work is split over channels (b, d); every (b, d, n) recurrence runs in
// order over t, and all sums shared between channels are reduced in a fixed order.
#include "kernels/cpu/selective_scan.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {
namespace {

template <typename T> T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }

// B or C of channel (b, d) at state n as a sequence over t: stride 1 along (batch, state, len) when
// input-dependent, stride 0 (one value for all t) when time-invariant.
template <typename T> struct Sequence {
  T* data;
  int64_t stride;
  T& operator[](int64_t t) const { return data[t * stride]; }
};

template <typename T, typename V>
Sequence<T> along_time(T* x, bool variable, const ScanProblem<V>& p, int64_t b, int64_t d, int64_t n) {
  return variable ? Sequence<T>{x + (b * p.state + n) * p.len, 1} : Sequence<T>{x + d * p.state + n, 0};
}

// delta'_t of channel (b, d) into dt, and d delta'_t / d delta_t into slope when slope is non-null.
template <typename T> void channel_delta(const ScanProblem<T>& p, int64_t b, int64_t d, T* dt, T* slope) {
  const T* delta = p.delta + (b * p.dim + d) * p.len;
  const T bias = p.delta_bias ? p.delta_bias[d] : T(0);
  for (int64_t t = 0; t < p.len; ++t) {
    const T v = delta[t] + bias;
    const bool linear = !p.delta_softplus || v > T(kSoftplusThreshold);
    dt[t] = linear ? v : std::log1p(std::exp(v));
    if (slope) slope[t] = linear ? T(1) : sigmoid(v);
  }
}

// y_t = sum_n C_t[n] x_t[n] + D u_t of channel (b, d), before the gate, into y; states[n * len + t]
// receives x_t[n] when states is non-null.
template <typename T>
void channel_scan(const ScanProblem<T>& p, int64_t b, int64_t d, const T* dt, T* y, T* states) {
  const T* u = p.u + (b * p.dim + d) * p.len;
  const T skip = p.D_skip ? p.D_skip[d] : T(0);
  for (int64_t t = 0; t < p.len; ++t) y[t] = skip * u[t];
  for (int64_t n = 0; n < p.state; ++n) {
    const T a = p.A[d * p.state + n];
    const auto B = along_time(p.B, p.B_variable, p, b, d, n);
    const auto C = along_time(p.C, p.C_variable, p, b, d, n);
    T x = 0;
    for (int64_t t = 0; t < p.len; ++t) {
      x = std::exp(dt[t] * a) * x + dt[t] * B[t] * u[t];
      y[t] += C[t] * x;
      if (states) states[n * p.len + t] = x;
    }
  }
}

// Per-channel scratch of the backward pass.
template <typename T> struct Scratch {
  std::vector<T> dt, slope, y, dy, ddt, states;
  explicit Scratch(const ScanProblem<T>& p)
      : dt(p.len), slope(p.len), y(p.len), dy(p.len), ddt(p.len), states(p.state * p.len) {}
};

// Shared gradients of one channel (b, d), kept per channel and summed over b afterwards.
template <typename T> struct ChannelPartials {
  T* A;       // (state): dA[d, :] from this channel
  T* D_skip;  // one value
  T* B;       // (state): dB[d, :] from this channel, used when B is time-invariant
  T* C;       // likewise
};

// The backward of channel (b, d): writes its slices of du, ddelta, dz, adds its share of the
// input-dependent dB/dC into g (batch b's slices, owned by the caller's thread) and fills `part`.
template <typename T>
void channel_backward(const ScanProblem<T>& p, int64_t b, int64_t d, const T* grad_out, const ScanGrads<T>& g,
                      const ChannelPartials<T>& part, Scratch<T>& s) {
  const int64_t L = p.len, off = (b * p.dim + d) * L;
  const T* u = p.u + off;
  const T* go = grad_out + off;
  T* du = g.u + off;
  channel_delta(p, b, d, s.dt.data(), s.slope.data());
  channel_scan(p, b, d, s.dt.data(), s.y.data(), s.states.data());

  // Through the gate out = y * silu(z): dy = g silu(z), dz = g y silu'(z).
  for (int64_t t = 0; t < L; ++t) {
    if (!p.z) {
      s.dy[t] = go[t];
      continue;
    }
    const T z = p.z[off + t], sz = sigmoid(z);
    s.dy[t] = go[t] * z * sz;
    g.z[off + t] = go[t] * s.y[t] * sz * (T(1) + z * (T(1) - sz));
  }
  const T skip = p.D_skip ? p.D_skip[d] : T(0);
  T dskip = 0;
  for (int64_t t = 0; t < L; ++t) {
    du[t] = s.dy[t] * skip;
    dskip += s.dy[t] * u[t];
    s.ddt[t] = 0;
  }
  *part.D_skip = dskip;

  // Reverse-time state gradient h_t = dy_t C_t + exp(delta'_{t+1} a) h_{t+1}, with h_L = 0.
  for (int64_t n = 0; n < p.state; ++n) {
    const T a = p.A[d * p.state + n];
    const auto B = along_time(p.B, p.B_variable, p, b, d, n);
    const auto C = along_time(p.C, p.C_variable, p, b, d, n);
    const auto dB = p.B_variable ? along_time(g.B, true, p, b, d, n) : Sequence<T>{part.B + n, 0};
    const auto dC = p.C_variable ? along_time(g.C, true, p, b, d, n) : Sequence<T>{part.C + n, 0};
    const T* x = s.states.data() + n * L;
    T h = 0, decay_next = 0, da = 0;
    for (int64_t t = L - 1; t >= 0; --t) {
      h = s.dy[t] * C[t] + decay_next * h;
      const T decay = std::exp(s.dt[t] * a), x_prev = t > 0 ? x[t - 1] : T(0);
      dC[t] += s.dy[t] * x[t];
      dB[t] += h * s.dt[t] * u[t];
      du[t] += h * s.dt[t] * B[t];
      s.ddt[t] += h * (decay * a * x_prev + B[t] * u[t]);
      da += h * decay * x_prev * s.dt[t];
      decay_next = decay;
    }
    part.A[n] = da;
  }
  for (int64_t t = 0; t < L; ++t) g.delta[off + t] = s.ddt[t] * s.slope[t];
}

}  // namespace

template <typename T> void selective_scan_forward(const ScanProblem<T>& p, T* out) {
  parallel_for(p.batch * p.dim, p.len * p.state * 8, [&](int64_t begin, int64_t end) {
    std::vector<T> dt(p.len), gate(p.z ? p.len : 0);
    for (int64_t c = begin; c < end; ++c) {
      const int64_t b = c / p.dim, d = c % p.dim;
      T* y = out + c * p.len;
      channel_delta<T>(p, b, d, dt.data(), nullptr);
      channel_scan<T>(p, b, d, dt.data(), y, nullptr);
      if (!p.z) continue;
      silu_forward(p.z + c * p.len, gate.data(), p.len);
      mul_forward(y, gate.data(), y, p.len);
    }
  });
}

template <typename T> void selective_scan_backward(const ScanProblem<T>& p, const T* grad_out, const ScanGrads<T>& g) {
  const int64_t BD = p.batch * p.dim, N = p.state, L = p.len;
  // Per-channel partials (zeroed) of the gradients shared across the batch, laid out (batch, dim, ...).
  std::vector<T> part_A(BD * N), part_D(BD), part_B(p.B_variable ? 0 : BD * N), part_C(p.C_variable ? 0 : BD * N);
  // Input-dependent dB/dC are shared across d: one thread owns each batch element and adds its
  // channels in order of d.
  parallel_for(p.batch, p.dim * L * N * 24, [&](int64_t begin, int64_t end) {
    Scratch<T> scratch(p);
    for (int64_t b = begin; b < end; ++b) {
      if (p.B_variable) std::fill_n(g.B + b * N * L, N * L, T(0));
      if (p.C_variable) std::fill_n(g.C + b * N * L, N * L, T(0));
      for (int64_t d = 0; d < p.dim; ++d) {
        const int64_t c = b * p.dim + d;
        const ChannelPartials<T> part{part_A.data() + c * N, part_D.data() + c,
                                      p.B_variable ? nullptr : part_B.data() + c * N,
                                      p.C_variable ? nullptr : part_C.data() + c * N};
        channel_backward(p, b, d, grad_out, g, part, scratch);
      }
    }
  });

  // Sums over the batch (and over t for delta_bias), in a fixed order.
  const auto sum_over_batch = [&](const std::vector<T>& part, T* out, int64_t inner) {
    std::fill_n(out, p.dim * inner, T(0));
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t i = 0; i < p.dim * inner; ++i) out[i] += part[b * p.dim * inner + i];
  };
  sum_over_batch(part_A, g.A, N);
  if (p.D_skip) sum_over_batch(part_D, g.D_skip, 1);
  if (!p.B_variable) sum_over_batch(part_B, g.B, N);
  if (!p.C_variable) sum_over_batch(part_C, g.C, N);
  if (p.delta_bias) {
    std::fill_n(g.delta_bias, p.dim, T(0));
    for (int64_t c = 0; c < BD; ++c)
      for (int64_t t = 0; t < L; ++t) g.delta_bias[c % p.dim] += g.delta[c * L + t];
  }
}

template void selective_scan_forward<float>(const ScanProblem<float>&, float*);
template void selective_scan_forward<double>(const ScanProblem<double>&, double*);
template void selective_scan_backward<float>(const ScanProblem<float>&, const float*, const ScanGrads<float>&);
template void selective_scan_backward<double>(const ScanProblem<double>&, const double*, const ScanGrads<double>&);

}  // namespace krait::kernels::cpu
