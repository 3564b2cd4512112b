// kernels/cuda/moe.h — a Switch mixture-of-experts layer on the device, the CUDA side of kernels/cpu/moe.h:
// the row softmax, top-k routing into expert buffers of fixed capacity, and the token <-> expert row gathers
// with their gradients. Float buffers are f32 or bf16 (`type`), arithmetic in f32; routing reads f32
// probabilities. Deterministic, with no atomics: every output element is written by one thread (or one warp
// or block reduction in a fixed order). None allocates.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/cpu/moe.h"
#include "kernels/dtype.h"

namespace krait::kernels::cuda {

using cpu::MoeShape;

// As cpu::softmax_forward / softmax_backward: one warp per row.
void softmax_forward(const void* x, void* y, DType type, int64_t rows, int64_t width, cudaStream_t stream);
void softmax_backward(const void* y, const void* grad_y, void* grad_x, DType type, int64_t rows, int64_t width,
                      cudaStream_t stream);

// As cpu::route_experts, with identical integers: one thread per token picks its top k, then one block per
// expert counts its choices in priority order with a block-wide prefix sum, which gives each its slot.
void route_experts(const float* probs, int32_t* expert, int32_t* slot, int32_t* source, float* fraction,
                   int32_t* load, const MoeShape& shape, cudaStream_t stream);

// As cpu::gather_gates / gather_gates_backward.
void gather_gates(const void* probs, const int32_t* expert, void* gates, DType type, const MoeShape& shape,
                  cudaStream_t stream);
void gather_gates_backward(const void* grad_gates, const int32_t* expert, void* grad_probs, DType type,
                           const MoeShape& shape, cudaStream_t stream);

// As cpu::tokens_to_experts (one block per buffer row) and cpu::experts_to_tokens (one block per token);
// gates may be null.
void tokens_to_experts(const void* tokens, const int32_t* source, const void* gates, void* out, DType type,
                       const MoeShape& shape, int64_t dim, cudaStream_t stream);
void experts_to_tokens(const void* rows, const int32_t* expert, const int32_t* slot, const void* gates, void* out,
                       DType type, const MoeShape& shape, int64_t dim, cudaStream_t stream);
// As cpu::combine_gates_backward: one warp per (t, c) dot product.
void combine_gates_backward(const void* y, const void* grad_out, const int32_t* expert, const int32_t* slot,
                            void* grad_gates, DType type, const MoeShape& shape, int64_t dim, cudaStream_t stream);

}  // namespace krait::kernels::cuda
