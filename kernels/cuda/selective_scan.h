// kernels/cuda/selective_scan.h — the fused CUDA selective scan: the forward, and a hand-derived
// backward that recomputes the states from chunk-boundary states the forward saves. Semantics are
// those of the CPU reference (kernels/cpu/selective_scan.h, docs/selective_scan.md); the kernel
// design is in docs/selective_scan_cuda.md.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace krait::kernels::cuda {

// T, the type of u, delta, B, C, z (and of out, grad_out and their gradients), is float or
// __nv_bfloat16; A, D_skip and delta_bias are float; the state and every sum are float. Layouts as
// the CPU reference: u, delta, z (batch, dim, len); A (dim, state); B, C (batch, state, len) when
// *_variable, else (dim, state); D_skip, delta_bias (dim). D_skip, z and delta_bias are null when
// absent. All pointers are device pointers. state is 1..256. For recurrent generation the forward
// also continues from initial_state and writes final_state (both (batch, dim, state), float; either
// null when not wanted; they may be one buffer): the backward reads neither.
template <typename T>
struct ScanProblem {
  int64_t batch = 0, dim = 0, len = 0, state = 0;
  const T* u = nullptr;
  const T* delta = nullptr;
  const float* A = nullptr;
  const T* B = nullptr;
  const T* C = nullptr;
  const float* D_skip = nullptr;
  const T* z = nullptr;
  const float* delta_bias = nullptr;
  bool B_variable = false, C_variable = false, delta_softplus = false;
  const float* initial_state = nullptr;  // forward only; null: x_{-1} = 0
  float* final_state = nullptr;          // forward only
};

// One gradient buffer per input, laid out as that input. D_skip, z and delta_bias are written only
// when the problem has that input (and may be null otherwise); the others are always written.
template <typename T>
struct ScanGrads {
  T* u = nullptr;
  T* delta = nullptr;
  float* A = nullptr;
  T* B = nullptr;
  T* C = nullptr;
  float* D_skip = nullptr;
  T* z = nullptr;
  float* delta_bias = nullptr;
};

// Device memory, in bytes, that the caller provides for a problem on the current device (any may be
// 0). saved_states is written by the forward and read by the backward, so it must live from one to
// the other; each workspace is scratch for one call and may be reused afterwards.
struct ScanBuffers {
  size_t saved_states = 0;
  size_t forward_workspace = 0;
  size_t backward_workspace = 0;
};
template <typename T> ScanBuffers selective_scan_buffers(const ScanProblem<T>& p);

// out (batch, dim, len). Enqueued on `stream`; the buffers are sized by selective_scan_buffers.
template <typename T>
void selective_scan_forward(const ScanProblem<T>& p, T* out, float* saved_states, void* workspace, cudaStream_t stream);

// grad_out (batch, dim, len) -> every gradient in g, overwriting them. Deterministic: no atomics, so
// the same inputs give bit-identical gradients on every run.
template <typename T>
void selective_scan_backward(const ScanProblem<T>& p, const T* grad_out, const float* saved_states,
                             const ScanGrads<T>& g, void* workspace, cudaStream_t stream);

}  // namespace krait::kernels::cuda
