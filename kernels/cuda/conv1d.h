// kernels/cuda/conv1d.h — depthwise causal 1-D convolution on the device (mamba_ssm's causal_conv1d) with an
// optional fused SiLU on its output; the CUDA side of kernels/cpu/conv1d.h. x, out and their gradients are
// f32 or bf16 (`type`); the weight, bias and their gradients are f32. Arithmetic is in f32.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

inline constexpr int64_t kMaxConvWidth = 1024;

// x, out (batch, channels, length), weight (channels, width), bias (channels) or null:
// pre[b,c,t] = bias[c] + sum_k weight[c,k] * x[b,c,t-(width-1)+k] (x zero before t = 0), out = silu(pre)
// when silu, else pre. width <= kMaxConvWidth.
void causal_conv1d_forward(const void* x, DType type, const float* weight, const float* bias, bool silu, void* out,
                           int64_t batch, int64_t channels, int64_t length, int64_t width, cudaStream_t stream);

// Gradients from grad_out (the gradient of out); grad_x, grad_weight and grad_bias are each skipped when
// null. x and weight are always needed, and with silu the forward's bias too (the pre-activation is
// recomputed, not stored). grad_weight and grad_bias are deterministic: each block sums its tile of one
// (batch, channel) row into a slot of the workspace (causal_conv1d_backward_workspace_bytes; may be null
// when both are null), and the slots of a channel are added in (batch, tile) order.
size_t causal_conv1d_backward_workspace_bytes(int64_t batch, int64_t channels, int64_t length, int64_t width);
void causal_conv1d_backward(const void* x, DType type, const float* weight, const float* bias, bool silu,
                            const void* grad_out, void* grad_x, float* grad_weight, float* grad_bias, void* workspace,
                            int64_t batch, int64_t channels, int64_t length, int64_t width, cudaStream_t stream);

// One step per sequence (recurrent generation), as cpu::causal_conv1d_step: x[b * x_stride + c] is the
// new input, window (batch, channels, width - 1) the previous ones (shifted in place), out (batch,
// channels); x, window and out are `type`. Defined in conv1d_step.cu.
void causal_conv1d_step(const void* x, int64_t x_stride, void* window, DType type, const float* weight,
                        const float* bias, bool silu, void* out, int64_t batch, int64_t channels, int64_t width,
                        cudaStream_t stream);

}  // namespace krait::kernels::cuda
