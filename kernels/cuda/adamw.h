// kernels/cuda/adamw.h — multi-tensor optimizer kernels on the device, the CUDA side of kernels/cpu/adamw.h:
// the AdamW update of many f32 parameters in one launch, the sum of squares of many gradients (for the
// global gradient norm) and in-place scaling of many buffers (for clipping).
//
// Each launcher builds a small table on the host (one row per buffer: pointers, size, scalar factors) and
// copies it into the caller's workspace with cudaMemcpyAsync; from pageable host memory the driver may
// first wait for the stream's earlier work. The workspace must not be reused on another stream before the
// launch has run. Buffers are split into fixed chunks of elements, one block per chunk, and each block
// finds its buffer by a binary search over the table.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/cpu/adamw.h"

namespace krait::kernels::cuda {

// One parameter of an AdamW step: f32 weights, gradient and moments of numel elements on the device.
struct AdamWTensor {
  float* param;
  const float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  int64_t numel;
  cpu::AdamWHyper hyper;  // its own step count and weight decay
};

// Updates every tensor in place exactly as cpu::adamw_step<float> (the scalar factors in double, rounded to
// f32; the per-element arithmetic in f32 without fused multiply-adds, so the results are bit-identical).
size_t adamw_workspace_bytes(int count);
void adamw_step(const AdamWTensor* tensors, int count, void* workspace, cudaStream_t stream);

// n f32 elements on the device.
struct FloatBuffer {
  float* data;
  int64_t numel;
};

// *result (one double on the device) = the sum of x^2 over every element of every buffer: each square and
// each block's sum in double, the blocks' sums added in a fixed order (bit-identical between runs).
size_t sum_squares_workspace_bytes(const FloatBuffer* buffers, int count);
void sum_squares(const FloatBuffer* buffers, int count, double* result, void* workspace, cudaStream_t stream);

// x *= alpha over every buffer (cpu::scale_inplace<float>).
size_t scale_inplace_workspace_bytes(int count);
void scale_inplace(const FloatBuffer* buffers, int count, float alpha, void* workspace, cudaStream_t stream);

}  // namespace krait::kernels::cuda
