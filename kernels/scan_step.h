// kernels/scan_step.h — ScanStepProblem: one time step of the selective scan for each sequence of a
// batch (recurrent generation), shared by the CPU reference (kernels/cpu/selective_scan_step.h) and
// the CUDA kernel (kernels/cuda/selective_scan_step.h). Per channel d and state n of sequence b:
//   Δ = delta + delta_bias (softplus'd when delta_softplus), x[n] = exp(Δ A[d,n]) x[n] + Δ B[n] u,
// where delta is either given per channel or, with delta_proj, Mamba's dt_proj fused in:
//   delta = Σ_r delta_proj[d, r] delta_in[r] over the delta_rank low-rank values of the sequence;
//   y = Σ_n C[n] x[n] + D_skip[d] u, times silu(z) when z is given.
// The per-sequence inputs are read in place as columns of wider rows (row b of u starts at
// u + b * u_stride), so that they can be parts of a fused projection's output without a copy.
#pragma once

#include <cstdint>

namespace krait::kernels {

// T: the inputs and the output (f32, f64, or bf16 on CUDA); S: the state, A, D_skip and delta_bias
// (f32, or f64 with f64 inputs).
template <typename T, typename S>
struct ScanStepProblem {
  int64_t batch = 0, dim = 0, state = 0;
  const T* u = nullptr;      // dim values per sequence
  int64_t u_stride = 0;
  const T* delta = nullptr;  // dim values per sequence (delta_rank with delta_proj); null: delta = 0
  int64_t delta_stride = 0;
  const T* delta_proj = nullptr;  // (dim, delta_rank) or null
  int64_t delta_rank = 0;
  const T* z = nullptr;      // dim values per sequence; null: no gate
  int64_t z_stride = 0;
  const T* B = nullptr;      // B_variable: state values per sequence (row stride B_stride); else (dim, state)
  const T* C = nullptr;      // likewise
  int64_t B_stride = 0, C_stride = 0;
  bool B_variable = false, C_variable = false;
  const S* A = nullptr;           // (dim, state)
  const S* D_skip = nullptr;      // (dim) or null
  const S* delta_bias = nullptr;  // (dim) or null
  bool delta_softplus = false;
  S* state_inout = nullptr;  // (batch, dim, state): read, then overwritten with the state after the step
  T* out = nullptr;          // (batch, dim)
};

}  // namespace krait::kernels
