// kernels/cpu/selective_scan_step.cpp — one selective-scan time step per sequence (see selective_scan_step.h).
#include "kernels/cpu/selective_scan_step.h"

#include <cmath>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {

template <typename T> void selective_scan_step(const ScanStepProblem<T, T>& p) {
  const int64_t N = p.state;
  parallel_for(p.batch * p.dim, 4 * N, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / p.dim, d = row % p.dim;
      const T u = p.u[b * p.u_stride + d];
      T dt = p.delta_bias ? p.delta_bias[d] : T(0);
      if (p.delta_proj) {
        for (int64_t r = 0; r < p.delta_rank; ++r) dt += p.delta_proj[d * p.delta_rank + r] * p.delta[b * p.delta_stride + r];
      } else if (p.delta) {
        dt += p.delta[b * p.delta_stride + d];
      }
      if (p.delta_softplus && dt <= T(kSoftplusThreshold)) dt = std::log1p(std::exp(dt));
      const T* Bn = p.B_variable ? p.B + b * p.B_stride : p.B + d * N;
      const T* Cn = p.C_variable ? p.C + b * p.C_stride : p.C + d * N;
      T* x = p.state_inout + row * N;
      T y = 0;
      for (int64_t n = 0; n < N; ++n) {
        x[n] = std::exp(dt * p.A[d * N + n]) * x[n] + dt * Bn[n] * u;
        y += Cn[n] * x[n];
      }
      if (p.D_skip) y += p.D_skip[d] * u;
      if (p.z) {
        const T z = p.z[b * p.z_stride + d];
        y *= z / (T(1) + std::exp(-z));
      }
      p.out[row] = y;
    }
  });
}

template void selective_scan_step<float>(const ScanStepProblem<float, float>&);
template void selective_scan_step<double>(const ScanStepProblem<double, double>&);

}  // namespace krait::kernels::cpu
