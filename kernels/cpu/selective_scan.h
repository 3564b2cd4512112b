// kernels/cpu/selective_scan.h — the CPU reference selective scan (the semantics of mamba_ssm's
// selective_scan_ref) on raw row-major buffers: the forward, and a hand-derived backward that
// recomputes each channel's states instead of keeping them. Equations: docs/selective_scan.md.
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// Sizes batch, dim (D), len (L), state (N). Layouts: u, delta, z (batch, dim, len); A (dim, state);
// B, C (batch, state, len) when *_variable, else (dim, state); D_skip, delta_bias (dim).
// The optional D_skip, z and delta_bias are null when absent. For recurrent generation the forward
// also continues from initial_state and writes final_state (both (batch, dim, state), x_{-1} and
// x_{L-1}; either null when not wanted, and they may be one buffer): a prompt's prefill is a scan
// from zero, one token's state update a scan of len 1. The backward reads neither.
template <typename T>
struct ScanProblem {
  int64_t batch = 0, dim = 0, len = 0, state = 0;
  const T* u = nullptr;
  const T* delta = nullptr;
  const T* A = nullptr;
  const T* B = nullptr;
  const T* C = nullptr;
  const T* D_skip = nullptr;
  const T* z = nullptr;
  const T* delta_bias = nullptr;
  bool B_variable = false, C_variable = false, delta_softplus = false;
  const T* initial_state = nullptr;  // forward only; null: x_{-1} = 0
  T* final_state = nullptr;          // forward only
};

// One gradient buffer per input, laid out as that input. D_skip, z and delta_bias are written only
// when the problem has that input (and may be null otherwise); the others are always written.
template <typename T>
struct ScanGrads {
  T* u = nullptr;
  T* delta = nullptr;
  T* A = nullptr;
  T* B = nullptr;
  T* C = nullptr;
  T* D_skip = nullptr;
  T* z = nullptr;
  T* delta_bias = nullptr;
};

// out (batch, dim, len).
template <typename T> void selective_scan_forward(const ScanProblem<T>& p, T* out);
// grad_out (batch, dim, len) -> every gradient in g. Results do not depend on the thread count.
template <typename T> void selective_scan_backward(const ScanProblem<T>& p, const T* grad_out, const ScanGrads<T>& g);

}  // namespace krait::kernels::cpu
