// kernels/cpu/conv1d.h — depthwise causal 1-D convolution on the host (mamba_ssm's causal_conv1d).
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// x, out (batch, channels, length), weight (channels, width), bias (channels) or null:
// out[b,c,t] = bias[c] + sum_k weight[c,k] * x[b,c,t-(width-1)+k], x taken as zero before t = 0.
template <typename T>
void causal_conv1d_forward(const T* x, const T* weight, const T* bias, T* out, int64_t batch, int64_t channels,
                           int64_t length, int64_t width);

// Gradients from grad_out (batch, channels, length); each one is skipped when its pointer is null.
// grad_x needs weight; grad_weight needs x (the other may then be null). grad_weight and grad_bias
// are summed over batch and time in a fixed order.
template <typename T>
void causal_conv1d_backward(const T* x, const T* weight, const T* grad_out, T* grad_x, T* grad_weight, T* grad_bias,
                            int64_t batch, int64_t channels, int64_t length, int64_t width);

// One step per sequence (recurrent generation): window (batch, channels, width - 1) holds each
// channel's previous width - 1 inputs, oldest first; x[b * x_stride + c] is the new one.
// out (batch, channels) = bias[c] + sum_k weight[c,k] * (window, x)[k], then silu'd when silu; the
// window drops its oldest input and takes x.
template <typename T>
void causal_conv1d_step(const T* x, int64_t x_stride, T* window, const T* weight, const T* bias, bool silu, T* out,
                        int64_t batch, int64_t channels, int64_t width);

}  // namespace krait::kernels::cpu
