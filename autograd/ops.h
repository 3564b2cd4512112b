// autograd/ops.h — the differentiable ops. Each checks its inputs (naming the op, shapes, dtypes and
// devices in any error), computes its forward with kernels/, and when an input requires grad records
// a tape node whose backward is derived by hand. Float ops take f32 or f64 (f64 is for gradient
// checks); all inputs of one op share a dtype and a device.
#pragma once

#include <functional>
#include <vector>

#include "autograd/parameter.h"
#include "autograd/tape.h"
#include "autograd/tensor.h"

namespace krait::ops {

// ---- linear algebra (ops/linalg.cpp) ----
// a: (..., m, k) or (..., k, m) when trans_a; b: (k, n) / (n, k) when trans_b, shared across a's
// leading axes, or (batch, k, n) matching a 3-D a. Result: (..., m, n). A 2-D a with a 3-D b is
// shared across b's batch: (m, k) times (batch, k, n) gives (batch, m, n).
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);
// A product with a parameter taken in the activations' dtype: matmul(cast(weight, x.dtype()), x,
// trans_weight, trans_x) when weight_left, else matmul(x, cast(weight, x.dtype()), trans_x, trans_weight).
// Unlike that composition, the cast copy lives only while a product runs (the backward casts again), so
// under bf16 nothing of the weight is kept but the f32 parameter itself; and the weight's gradient comes
// out of the product in the weight's dtype instead of being rounded to x's and converted back.
Tensor matmul_weight(const Tensor& weight, const Tensor& x, bool weight_left, bool trans_weight, bool trans_x);
// The same for consecutive row blocks of weight (2-D; `rows` counts summing to its rows), one product and
// output per block, in one node: e.g. in_proj's x and z, each already in the layout its consumer reads.
TensorList matmul_weight_rows(const Tensor& weight, const std::vector<int64_t>& rows, const Tensor& x, bool weight_left,
                              bool trans_weight, bool trans_x);

// ---- elementwise (ops/elementwise.cpp) ----
// b has a's shape, or a's trailing shape (a bias repeated over the leading axes).
Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, double alpha);
Tensor silu(const Tensor& x);
Tensor softplus(const Tensor& x);  // log(1 + e^x); x itself above 20
Tensor sigmoid(const Tensor& x);
Tensor exp(const Tensor& x);
// A copy converted to dtype (x itself when it already is); the gradient converts back.
Tensor cast(const Tensor& x, DType dtype);

// ---- reductions (ops/reduce.cpp) ----
Tensor sum(const Tensor& x);   // all elements -> shape []
Tensor mean(const Tensor& x);  // all elements -> shape []
Tensor sum(const Tensor& x, int64_t axis, bool keepdim = false);
Tensor mean(const Tensor& x, int64_t axis, bool keepdim = false);

// ---- shape (ops/shape.cpp) ----
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);  // a contiguous copy
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end);
std::vector<Tensor> split(const Tensor& x, int64_t axis, const std::vector<int64_t>& sizes);
Tensor concat(const std::vector<Tensor>& parts, int64_t axis);

// ---- neural-network ops (ops/embedding.cpp, rms_norm.cpp, conv1d.cpp, cross_entropy.cpp) ----
// weight (V, D), ids i32/i64 of any shape with values in [0, V) -> (ids..., D).
Tensor embedding(const Tensor& weight, const Tensor& ids);
// x (..., D) -> x / sqrt(mean(x^2) + eps) * weight, weight (D).
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps);
// The prenorm block's residual add and the next norm in one: h = residual + x (x converted to the
// residual's dtype) and y = rms_norm(h, weight, eps) in y_dtype; returns {h, y}. On CUDA one fused
// kernel each way, with an f32 residual and x, y in f32 or bf16 (mixed precision); on the CPU the
// composition of add, cast and rms_norm.
TensorList add_rms_norm(const Tensor& x, const Tensor& residual, const Tensor& weight, double eps, DType y_dtype);
// Depthwise causal convolution: x (B, D, L), weight (D, K), optional bias (D) -> (B, D, L);
// out[b,d,t] = bias[d] + sum_k weight[d,k] * x[b,d,t-K+1+k] with x zero before t = 0, then silu(out)
// when silu (one kernel each way on CUDA; the backward recomputes the pre-activation, as it does on the
// CPU, so nothing more is stored than without it).
Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), bool silu = false);

enum class Reduction { Mean, Sum };
// logits (N, W), targets (N) i32/i64 in [0, classes). Rows whose target equals ignore_index contribute
// nothing; Mean divides by the number of rows kept (0 when none are). Returns shape []. The classes are
// the first `classes` columns (0 = all W): the rest, a padded vocabulary's extra columns, are left out
// of the softmax and get a zero gradient, so the loss is the unpadded model's exactly.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100,
                     Reduction reduction = Reduction::Mean, int64_t classes = 0);
// cross_entropy(matmul(hidden, weight, false, true), targets, ...) without its (N, V) logits: hidden
// (N, D), weight (V, D) (a language model's head), the logits made chunk_rows rows at a time. When it
// records, the forward also computes both gradients for a loss gradient of 1 (the two products the
// backward would run, per chunk, so no logits outlive their chunk) and keeps them (f32 on CUDA); the
// backward scales them by the loss gradient, read on the host with the kept-row count (one wait).
Tensor linear_cross_entropy(const Tensor& hidden, const Tensor& weight, const Tensor& targets, int64_t ignore_index,
                            Reduction reduction, int64_t classes, int64_t chunk_rows);

// ---- sequence pooling (ops/pool.cpp), for classification heads ----
enum class PoolMode { Mean, Last };
// x (B, L, D) f32 or f64 (f32 or bf16 on CUDA), L >= 1; lengths an i32 tensor (B) on x's device with
// 1 <= lengths[b] <= L, or undefined for every row of length L. Mean: y[b, :] = the mean of x[b, t, :]
// over t < lengths[b]; Last: y[b, :] = x[b, lengths[b] - 1, :]. Returns (B, D) in x's dtype (bf16 sums
// accumulate in f32). Lengths outside [1, L] are an error: at once on the CPU; on CUDA when the host
// next waits for the device (cuda::defer_check), the kernels clamping them meanwhile. Lengths get no
// gradient; the backward saves only them, not x.
Tensor pool_sequence(const Tensor& x, const Tensor& lengths, PoolMode mode);

// ---- selective scan (ops/selective_scan.cpp), the semantics of mamba_ssm's selective_scan_ref ----
// u, delta: (B, D, L); A: (D, N); B, C: (B, N, L) input-dependent or (D, N) time-invariant;
// optional D_skip (D), z (B, D, L), delta_bias (D). delta' = delta (+ delta_bias) (softplus'd when
// delta_softplus); x_t = exp(delta'_t A) x_{t-1} + delta'_t B_t u_t; y_t = C_t . x_t + D u_t;
// output y (* silu(z) when z is given), shape (B, D, L).
struct ScanInputs {
  Tensor u, delta, A, B, C;
  Tensor D_skip, z, delta_bias;  // optional
  bool delta_softplus = false;
};
Tensor selective_scan(const ScanInputs& in);
// selective_scan(prepare(inputs)) keeping only `inputs` and the scan's own checkpoints: the backward
// runs prepare again on a NestedTape, takes the scan's gradients with respect to what prepare made and
// backpropagates them through it. The Mamba mixer's fused node: its conv output, delta, B and C are
// recomputed in the backward instead of stored (the scan itself is not run again). `params` lists every
// parameter prepare reads; their gradients accumulate in place, as under recompute().
Tensor selective_scan_recomputing(const std::function<ScanInputs(const TensorList&)>& prepare,
                                  const TensorList& inputs, const ParameterList& params);
// The same scan continuing from `state` (B, D, N) in scan_state_dtype(u's dtype) (zeros: from the
// start), which it overwrites with the state after the last step: recurrent generation's prefill of a
// prompt. Not differentiable: an error where the tape would record. Runs the scan kernels of either
// device with an initial and a final state.
Tensor selective_scan_stateful(const ScanInputs& in, const Tensor& state);
// The dtype of a scan's state (and of A, D_skip, delta_bias) for activations of `dtype`: f32 for bf16
// (CUDA keeps parameters and states in f32), else dtype itself.
DType scan_state_dtype(DType dtype);

// ---- recurrent generation, one token per sequence (ops/generation_step.cpp) ----
// Neither op is differentiable (an error where the tape would record): both update a state in place.
// Per-sequence inputs are Columns: `width` columns from `offset` on of a (batch, *) tensor, read in
// place, so that they can be parts of a fused projection's output.
struct Columns {
  Tensor t;
  int64_t offset = 0;
};
// causal_conv1d for one new input per sequence: x (batch, channels) as columns, window (batch,
// channels, width - 1) the previous inputs (shifted in place: x enters, the oldest leaves), weight
// (channels, width), bias (channels) or undefined; returns (batch, channels), silu'd when silu.
Tensor causal_conv1d_step(const Columns& x, const Tensor& window, const Tensor& weight, const Tensor& bias, bool silu);
// One step of selective_scan per sequence from state (batch, D, N), which it overwrites: u, delta
// (undefined: 0) and z (undefined: no gate) (batch, D) as columns; B and C either (batch, N) as columns
// (input-dependent) or (D, N) per channel; A (D, N), D_skip and delta_bias (D) as in ScanInputs, in
// scan_state_dtype like the state. With delta_proj (D, R) in the activations' dtype, delta is (batch,
// R) and the step's delta is delta_proj times it (Mamba's dt_proj, fused). Returns y (batch, D). Same
// equations as a scan of length 1.
struct ScanStepInputs {
  Columns u, delta, z, B, C;
  bool B_variable = false, C_variable = false;
  Tensor A, D_skip, delta_bias, delta_proj;
  bool delta_softplus = false;
};
Tensor selective_scan_step(const ScanStepInputs& in, const Tensor& state);
// Greedy decoding: x (rows, W) -> i32 (rows) on x's device, each row's index of its largest value
// among the first `width` columns (a padded vocabulary's others never win), the lower index on ties,
// NaN counting as -infinity. Not differentiable.
Tensor argmax_rows(const Tensor& x, int64_t width);

// ---- Transformer ops (ops/attention.cpp, ops/rotary.cpp, ops/swiglu.cpp) ----
// Causal multi-head softmax attention over a fused projection. qkv (B, L, 3 * H * Dh) holds, along
// its last axis, the H query heads, then the H key heads, then the H value heads, each Dh wide;
// returns (B, L, H * Dh) with out[b, t, h] = sum_{s <= t} softmax_s(q[b,t,h] . k[b,s,h] / sqrt(Dh))
// v[b, s, h]. No L x L matrix is stored: backward recomputes the probabilities from the saved
// output and per-row log-sum-exp (FlashAttention's scheme), on the CPU as on CUDA.
Tensor causal_attention(const Tensor& qkv, int64_t n_head);
// Rotary position embedding (Su et al., GPT-NeoX's half-split layout) applied to the query and key
// heads of a fused qkv (B, L, 3 * H * Dh) as causal_attention reads it; the value heads pass through.
// Position t rotates each pair (x[i], x[i + Dh/2]), i < Dh/2, by the angle t * theta^(-2i / Dh).
// Dh must be even.
Tensor rotary(const Tensor& qkv, int64_t n_head, double theta);
// SwiGLU's gate: x (..., 2F) -> silu(x[..., :F]) * x[..., F:], shape (..., F).
Tensor swiglu(const Tensor& x);

// ---- activation recomputation (ops/recompute.cpp) ----
// fn(input), whose activations are not kept: the forward runs fn without recording and saves only
// input; the backward runs fn again on a NestedTape (on a copy of input that is a leaf) and
// backpropagates through it there, so the saved memory of one layer is its input alone.
// `params` must list every parameter fn uses, and fn must use no other tensor that requires grad (an
// error in the backward): their gradients accumulate during the nested backward, and listing them
// as the node's inputs keeps a LeafGradientHook from reporting them final before it has run. fn must
// compute the same thing both times: deterministic, with no random draws (no Krait layer has dropout).
// Where nothing requires grad it is fn(input).
Tensor recompute(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input, const ParameterList& params);

// ---- mixture of experts (ops/moe.cpp): Switch routing, token dispatch and combine ----
// Softmax over the last axis (f32/f64; f32 or bf16 on CUDA, computed in f32). Differentiable.
Tensor softmax(const Tensor& x);
// Where each token goes: the top_k experts of its row of probs, best first (ties: the lower index; NaN
// ranks lowest), and its row in each expert's buffer of `capacity` rows. Buffers fill in priority order:
// every token's first choice in token order, then every second choice, ...; a choice past capacity is
// dropped (slot -1) and the token passes that expert by (the layer's residual carries it).
struct ExpertRouting {
  Tensor expert;    // (T, k) i32
  Tensor slot;      // (T, k) i32, -1 when dropped
  Tensor source;    // (E, C) i32: t * k + choice filling row s of expert e, -1 for an empty row
  Tensor fraction;  // (E) in probs' dtype: share of tokens whose FIRST choice is e (before capacity): Switch's f_e
  Tensor load;      // (E) i32: rows filled (all choices, after capacity)
  int64_t tokens = 0, experts = 0, capacity = 0, top_k = 0;
};
// probs (T, E) f32 or f64 on the CPU, f32 on CUDA (the same integers on both); 1 <= top_k <= E;
// capacity >= 1. Not differentiable (records nothing).
ExpertRouting route_experts(const Tensor& probs, int64_t top_k, int64_t capacity);
// The probabilities of the chosen experts: probs[t, expert[t, c]] -> (T, k); differentiable in probs.
Tensor routing_gates(const Tensor& probs, const ExpertRouting& routing);
// x (T, D) -> (E, C, D): row s of expert e is x[source / k], zero where empty. Differentiable in x.
Tensor moe_dispatch(const Tensor& x, const ExpertRouting& routing);
// y (E, C, D), gates (T, k) in y's dtype -> (T, D): out[t] = sum over t's kept choices c of
// gates[t, c] * y[expert[t,c], slot[t,c]] (a token with every choice dropped gets zeros).
// Differentiable in y and gates.
Tensor moe_combine(const Tensor& y, const Tensor& gates, const ExpertRouting& routing);

}  // namespace krait::ops
