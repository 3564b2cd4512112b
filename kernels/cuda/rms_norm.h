// kernels/cuda/rms_norm.h — RMSNorm on the device, optionally fused with the residual add that feeds it;
// the CUDA side of kernels/cpu/rms_norm.h. Statistics, the residual stream and the weight are f32; x, y
// and their gradients are f32 or bf16. Arithmetic is in f32.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

// Per row of (rows, dim): h = x + residual (f32; h = x when residual is null), written to residual_out
// when that is not null; rstd[r] = 1 / sqrt(mean(h^2) + eps); y = h * rstd * weight. Without residual and
// residual_out this is cpu::rms_norm_forward.
void rms_norm_forward(const void* x, DType x_type, const float* residual, const float* weight, float eps,
                      float* residual_out, void* y, DType y_type, float* rstd, int64_t rows, int64_t dim,
                      cudaStream_t stream);

// Backward from h (the forward's residual_out, or its x in the plain form; h_type), weight, rstd and
// grad_y (y_type). With grad_residual_out (f32, the gradient reaching residual_out from later uses; may be
// null) g = dL/dh = the RMSNorm gradient + grad_residual_out, and g is dL/dx and dL/dresidual alike: it is
// written to grad_x (x_type) and grad_residual (f32), each skipped when null. grad_weight (f32, may be null)
// is summed over rows deterministically: each block adds a fixed chunk of rows into its partial row of the
// workspace (rms_norm_backward_workspace_bytes; null when grad_weight is), and the chunks' partials are
// added in chunk order. Without residual terms this is cpu::rms_norm_backward.
size_t rms_norm_backward_workspace_bytes(int64_t rows, int64_t dim);
void rms_norm_backward(const void* h, DType h_type, const float* weight, const float* rstd, const void* grad_y,
                       DType y_type, const float* grad_residual_out, void* grad_x, DType x_type, float* grad_residual,
                       float* grad_weight, void* workspace, int64_t rows, int64_t dim, cudaStream_t stream);

}  // namespace krait::kernels::cuda
