// kernels/cuda/attention.h — causal multi-head softmax attention on the device, forward and backward
// (FlashAttention-2: no L x L matrix in memory, probabilities recomputed in backward); the CUDA side of
// kernels/cpu/attention.h. qkv, out, grad_out and grad_qkv are f32 or bf16 (`type`); lse is f32; all
// arithmetic accumulates in f32. bf16 with head_dim 64 or 128 runs on tensor cores (mma.sync), anything
// else (head_dim up to kMaxAttentionHeadDim) on a generic SIMT kernel. Deterministic: no atomics.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

inline constexpr int64_t kMaxAttentionHeadDim = 256;

// qkv (batch, length, 3 * heads * head_dim): query heads, then key heads, then value heads along the
// last axis. out (batch, length, heads * head_dim); lse (batch, heads, length) gets each row's
// log-sum-exp of the scaled scores q . k / sqrt(head_dim).
void causal_attention_forward(const void* qkv, DType type, void* out, float* lse, int64_t batch, int64_t length,
                              int64_t heads, int64_t head_dim, cudaStream_t stream);

// grad_qkv (the shape of qkv, every element written) from grad_out (the shape of out), given the
// forward's qkv, out and lse. The workspace (causal_attention_backward_workspace_bytes) holds
// D = rowsum(grad_out * out) per (batch, head, position).
size_t causal_attention_backward_workspace_bytes(int64_t batch, int64_t length, int64_t heads);
void causal_attention_backward(const void* qkv, const void* out, const float* lse, const void* grad_out, DType type,
                               void* grad_qkv, void* workspace, int64_t batch, int64_t length, int64_t heads,
                               int64_t head_dim, cudaStream_t stream);

// Whether calls with this dtype and head_dim take the tensor-core kernels (when every buffer is also
// 16-byte aligned, as the allocators' are); the rest run on the generic kernels.
bool causal_attention_uses_tensor_cores(DType type, int64_t head_dim);

}  // namespace krait::kernels::cuda
