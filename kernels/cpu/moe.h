// kernels/cpu/moe.h — a Switch mixture-of-experts layer on the host: the row softmax behind the router's
// probabilities, top-k routing of tokens into expert buffers of fixed capacity, and the row gathers that
// carry tokens into those buffers and expert outputs back, each with its gradient. The gathers come in
// pairs that are each other's transpose: tokens_to_experts is dispatch's forward and combine's gradient
// for y; experts_to_tokens is combine's forward and dispatch's gradient for x. No scatter-add anywhere.
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// T tokens routed to E experts, k choices per token, buffers of C rows per expert.
struct MoeShape {
  int64_t tokens = 0, experts = 0, top_k = 0, capacity = 0;
};

// y (rows, width): the softmax of each row of x, taken relative to the row's maximum.
template <typename T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t width);
// grad_x = y * (grad_y - sum_j grad_y[j] * y[j]), row by row.
template <typename T> void softmax_backward(const T* y, const T* grad_y, T* grad_x, int64_t rows, int64_t width);

// The routing of probs (T, E), every element of every output written:
// - expert (T, k): each row's k largest probabilities, best first; between equal ones the lower index, NaN
//   ranking lowest;
// - slot (T, k): the choice's row in its expert's buffer, taken in priority order (all first choices in
//   token order, then all second choices, ...), -1 past the capacity (dropped);
// - source (E, C): t * k + c of the choice holding each buffer row, -1 for an empty row;
// - fraction (E): the share of tokens whose first choice is e; load (E): the rows filled.
template <typename T>
void route_experts(const T* probs, int32_t* expert, int32_t* slot, int32_t* source, T* fraction, int32_t* load,
                   const MoeShape& shape);

// gates (T, k) = probs[t, expert[t, c]] with probs (T, E).
template <typename T> void gather_gates(const T* probs, const int32_t* expert, T* gates, const MoeShape& shape);
// grad_probs (T, E): grad_gates[t, c] where e = expert[t, c], zero at the experts t did not choose.
template <typename T>
void gather_gates_backward(const T* grad_gates, const int32_t* expert, T* grad_probs, const MoeShape& shape);

// out (E, C, dim): row (e, s) = scale * tokens[source / k] with tokens (T, dim) and scale = gates[source]
// (1 when gates is null), zeros where source is -1.
template <typename T>
void tokens_to_experts(const T* tokens, const int32_t* source, const T* gates, T* out, const MoeShape& shape,
                       int64_t dim);
// out (T, dim): row t = the sum, over t's choices c with slot >= 0 in order of c, of scale * rows[expert, slot]
// with rows (E, C, dim) and scale = gates[t, c] (1 when gates is null); zeros when every choice was dropped.
template <typename T>
void experts_to_tokens(const T* rows, const int32_t* expert, const int32_t* slot, const T* gates, T* out,
                       const MoeShape& shape, int64_t dim);
// grad_gates (T, k) = dot(y[expert, slot], grad_out[t]) with y (E, C, dim) and grad_out (T, dim); 0 when dropped.
template <typename T>
void combine_gates_backward(const T* y, const T* grad_out, const int32_t* expert, const int32_t* slot, T* grad_gates,
                            const MoeShape& shape, int64_t dim);

}  // namespace krait::kernels::cpu
