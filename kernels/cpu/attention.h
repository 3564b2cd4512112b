// kernels/cpu/attention.h — causal multi-head softmax attention on the host, forward and backward
// (FlashAttention's recomputation scheme, one query row at a time: no L x L matrix is ever stored).
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// qkv (batch, length, 3 * heads * head_dim): along the last axis the query heads, then the key heads,
// then the value heads, each head_dim wide. out (batch, length, heads * head_dim):
// out[b,t,h] = sum_{s <= t} p[t,s] v[b,s,h] with p[t,.] = softmax_s(q[b,t,h] . k[b,s,h] / sqrt(head_dim)).
// lse (batch, heads, length) gets each row's log-sum-exp of the scaled scores (what backward needs to
// recompute p).
template <typename T>
void causal_attention_forward(const T* qkv, T* out, T* lse, int64_t batch, int64_t length, int64_t heads,
                              int64_t head_dim);

// grad_qkv (the shape of qkv) from grad_out (the shape of out), given the forward's qkv, out and lse.
// Every element of grad_qkv is written; sums run in a fixed order.
template <typename T>
void causal_attention_backward(const T* qkv, const T* out, const T* lse, const T* grad_out, T* grad_qkv,
                               int64_t batch, int64_t length, int64_t heads, int64_t head_dim);

}  // namespace krait::kernels::cpu
