// autograd/ops/moe.cpp — the ops of a Switch mixture-of-experts layer: softmax (the router's probabilities),
// route_experts (top-k routing into expert buffers of fixed capacity; records nothing), routing_gates (the
// chosen probabilities), moe_dispatch (tokens into the buffers) and moe_combine (expert outputs back to
// tokens, weighted by the gates). Every forward and backward is a gather; dispatch's backward is combine's
// forward without gates, and combine's gradient for y is dispatch's forward with them. One closure per op
// serves both devices through the *_into helpers, which pick the kernel by the tensors' device.
#include <cstdint>

#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/moe.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/moe.h"
#endif

namespace krait::ops {
namespace {

using kernels::cpu::MoeShape;

MoeShape shape_of(const ExpertRouting& routing) {
  return {.tokens = routing.tokens, .experts = routing.experts, .top_k = routing.top_k, .capacity = routing.capacity};
}

// f32 or f64 on the CPU, f32 or bf16 on CUDA: what the kernels take.
void check_float_dtype(const char* op, const char* name, const Tensor& t) {
  const DType d = t.dtype();
  if (t.device().is_cuda())
    KRAIT_CHECK(d == DType::F32 || d == DType::BF16, op, ": on CUDA ", name, " must be f32 or bf16, got ",
                t.describe());
  else
    KRAIT_CHECK(d == DType::F32 || d == DType::F64, op, ": on the cpu ", name, " must be f32 or f64, got ",
                t.describe());
}

// routing came from route_experts for tokens on t's device.
void check_routing(const char* op, const ExpertRouting& routing, const Tensor& t) {
  KRAIT_CHECK(routing.expert.defined(), op, ": the routing is empty (make it with route_experts)");
  KRAIT_CHECK(routing.expert.device() == t.device(), op, ": the routing is on ", routing.expert.device().str(),
              " but ", t.describe(), " is not");
}

// ---- kernel selection by device ----

void softmax_forward_into(const Tensor& x, const Tensor& y, int64_t rows, int64_t width) {
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    kernels::cuda::softmax_forward(x.raw_data(), y.raw_data(), x.dtype(), rows, width, detail::stream_of(x));
    return;
  }
#endif
  detail::dispatch_float("softmax", x, [&]<typename T>() {
    kernels::cpu::softmax_forward(x.data<T>(), y.data<T>(), rows, width);
  });
}

void softmax_backward_into(const Tensor& y, const Tensor& g, const Tensor& gx, int64_t rows, int64_t width) {
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    kernels::cuda::softmax_backward(y.raw_data(), g.raw_data(), gx.raw_data(), g.dtype(), rows, width,
                                    detail::stream_of(g));
    return;
  }
#endif
  detail::dispatch_float("softmax backward", g, [&]<typename T>() {
    kernels::cpu::softmax_backward(y.data<T>(), g.data<T>(), gx.data<T>(), rows, width);
  });
}

void route_into(const Tensor& probs, const ExpertRouting& r) {
  const MoeShape shape = shape_of(r);
  int32_t* const expert = r.expert.data<int32_t>();
  int32_t* const slot = r.slot.data<int32_t>();
  int32_t* const source = r.source.data<int32_t>();
  int32_t* const load = r.load.data<int32_t>();
#if KRAIT_HAS_CUDA
  if (probs.device().is_cuda()) {
    kernels::cuda::route_experts(probs.data<float>(), expert, slot, source, r.fraction.data<float>(), load, shape,
                                 detail::stream_of(probs));
    return;
  }
#endif
  detail::dispatch_float("route_experts", probs, [&]<typename T>() {
    kernels::cpu::route_experts(probs.data<T>(), expert, slot, source, r.fraction.data<T>(), load, shape);
  });
}

void gather_gates_into(const Tensor& probs, const Tensor& expert, const Tensor& gates, const MoeShape& shape) {
#if KRAIT_HAS_CUDA
  if (probs.device().is_cuda()) {
    kernels::cuda::gather_gates(probs.raw_data(), expert.data<int32_t>(), gates.raw_data(), probs.dtype(), shape,
                                detail::stream_of(probs));
    return;
  }
#endif
  detail::dispatch_float("routing_gates", probs, [&]<typename T>() {
    kernels::cpu::gather_gates(probs.data<T>(), expert.data<int32_t>(), gates.data<T>(), shape);
  });
}

void gather_gates_backward_into(const Tensor& g, const Tensor& expert, const Tensor& gprobs, const MoeShape& shape) {
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    kernels::cuda::gather_gates_backward(g.raw_data(), expert.data<int32_t>(), gprobs.raw_data(), g.dtype(), shape,
                                         detail::stream_of(g));
    return;
  }
#endif
  detail::dispatch_float("routing_gates backward", g, [&]<typename T>() {
    kernels::cpu::gather_gates_backward(g.data<T>(), expert.data<int32_t>(), gprobs.data<T>(), shape);
  });
}

// out (E, C, D) from token rows (T, D), scaled by gates when they are defined.
void tokens_to_experts_into(const Tensor& tokens, const ExpertRouting& r, const Tensor& gates, const Tensor& out) {
  const int64_t dim = tokens.size(1);
#if KRAIT_HAS_CUDA
  if (tokens.device().is_cuda()) {
    kernels::cuda::tokens_to_experts(tokens.raw_data(), r.source.data<int32_t>(), detail::raw_or_null(gates),
                                     out.raw_data(), tokens.dtype(), shape_of(r), dim, detail::stream_of(tokens));
    return;
  }
#endif
  detail::dispatch_float("moe tokens_to_experts", tokens, [&]<typename T>() {
    kernels::cpu::tokens_to_experts(tokens.data<T>(), r.source.data<int32_t>(), detail::data_or_null<T>(gates),
                                    out.data<T>(), shape_of(r), dim);
  });
}

// out (T, D) from expert rows (E, C, D), scaled by gates when they are defined.
void experts_to_tokens_into(const Tensor& rows, const ExpertRouting& r, const Tensor& gates, const Tensor& out) {
  const int64_t dim = rows.size(2);
#if KRAIT_HAS_CUDA
  if (rows.device().is_cuda()) {
    kernels::cuda::experts_to_tokens(rows.raw_data(), r.expert.data<int32_t>(), r.slot.data<int32_t>(),
                                     detail::raw_or_null(gates), out.raw_data(), rows.dtype(), shape_of(r), dim,
                                     detail::stream_of(rows));
    return;
  }
#endif
  detail::dispatch_float("moe experts_to_tokens", rows, [&]<typename T>() {
    kernels::cpu::experts_to_tokens(rows.data<T>(), r.expert.data<int32_t>(), r.slot.data<int32_t>(),
                                    detail::data_or_null<T>(gates), out.data<T>(), shape_of(r), dim);
  });
}

void combine_gates_backward_into(const Tensor& y, const Tensor& g, const ExpertRouting& r, const Tensor& ggates) {
  const int64_t dim = y.size(2);
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    kernels::cuda::combine_gates_backward(y.raw_data(), g.raw_data(), r.expert.data<int32_t>(),
                                          r.slot.data<int32_t>(), ggates.raw_data(), g.dtype(), shape_of(r), dim,
                                          detail::stream_of(g));
    return;
  }
#endif
  detail::dispatch_float("moe_combine backward", g, [&]<typename T>() {
    kernels::cpu::combine_gates_backward(y.data<T>(), g.data<T>(), r.expert.data<int32_t>(), r.slot.data<int32_t>(),
                                         ggates.data<T>(), shape_of(r), dim);
  });
}

}  // namespace

Tensor softmax(const Tensor& x) {
  detail::check_float_inputs("softmax", {&x});
  KRAIT_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) >= 1, "softmax: x must have a non-empty last axis, got ",
              x.defined() ? x.describe() : std::string("an undefined tensor"));
  check_float_dtype("softmax", "x", x);
  const int64_t width = x.size(-1), rows = x.numel() / width;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  softmax_forward_into(x, y, rows, width);
  if (needs_record({x})) {
    const Tensor saved = y.detach();
    record("softmax", {x}, y, [saved, rows, width](const Tensor& g) -> TensorList {
      Tensor gx = Tensor::empty(saved.shape(), g.dtype(), g.device());
      softmax_backward_into(saved, g, gx, rows, width);
      return {gx};
    });
  }
  return y;
}

ExpertRouting route_experts(const Tensor& probs, int64_t top_k, int64_t capacity) {
  constexpr const char* kOp = "route_experts";
  KRAIT_CHECK(probs.defined() && probs.dim() == 2 && probs.size(0) >= 1 && probs.size(1) >= 1, kOp,
              ": probs must be (tokens, experts) with both >= 1, got ",
              probs.defined() ? probs.describe() : std::string("an undefined tensor"));
  const DType d = probs.dtype();
  KRAIT_CHECK(probs.device().is_cuda() ? d == DType::F32 : d == DType::F32 || d == DType::F64, kOp,
              ": probs must be f32 (or f64 on the cpu), got ", probs.describe());
  const int64_t tokens = probs.size(0), experts = probs.size(1);
  KRAIT_CHECK(top_k >= 1 && top_k <= experts, kOp, ": top_k must be in [1, ", experts, "] (the experts of probs ",
              probs.describe(), "), got ", top_k);
  KRAIT_CHECK(capacity >= 1 && capacity <= INT32_MAX, kOp, ": capacity must be in [1, 2^31), got ", capacity);
  KRAIT_CHECK(tokens * top_k <= INT32_MAX, kOp, ": ", tokens, " tokens x top_k ", top_k,
              " choices do not fit the i32 indices");
  const Device device = probs.device();
  ExpertRouting r;
  r.tokens = tokens, r.experts = experts, r.capacity = capacity, r.top_k = top_k;
  r.expert = Tensor::empty({tokens, top_k}, DType::I32, device);
  r.slot = Tensor::empty({tokens, top_k}, DType::I32, device);
  r.source = Tensor::empty({experts, capacity}, DType::I32, device);
  r.fraction = Tensor::empty({experts}, d, device);
  r.load = Tensor::empty({experts}, DType::I32, device);
  route_into(probs, r);
  return r;
}

Tensor routing_gates(const Tensor& probs, const ExpertRouting& routing) {
  constexpr const char* kOp = "routing_gates";
  detail::check_float_inputs(kOp, {&probs});
  check_routing(kOp, routing, probs);
  detail::check_shape(kOp, "probs", probs, {routing.tokens, routing.experts});
  check_float_dtype(kOp, "probs", probs);
  const MoeShape shape = shape_of(routing);
  Tensor gates = Tensor::empty({routing.tokens, routing.top_k}, probs.dtype(), probs.device());
  gather_gates_into(probs, routing.expert, gates, shape);
  if (needs_record({probs})) {
    record(kOp, {probs}, gates, [expert = routing.expert, shape](const Tensor& g) -> TensorList {
      Tensor gprobs = Tensor::empty({shape.tokens, shape.experts}, g.dtype(), g.device());
      gather_gates_backward_into(g, expert, gprobs, shape);
      return {gprobs};
    });
  }
  return gates;
}

Tensor moe_dispatch(const Tensor& x, const ExpertRouting& routing) {
  constexpr const char* kOp = "moe_dispatch";
  detail::check_float_inputs(kOp, {&x});
  check_routing(kOp, routing, x);
  KRAIT_CHECK(x.dim() == 2 && x.size(0) == routing.tokens, kOp, ": x must be (tokens = ", routing.tokens,
              ", features), got ", x.describe());
  check_float_dtype(kOp, "x", x);
  Tensor out = Tensor::empty({routing.experts, routing.capacity, x.size(1)}, x.dtype(), x.device());
  tokens_to_experts_into(x, routing, Tensor(), out);
  if (needs_record({x})) {
    record(kOp, {x}, out, [routing](const Tensor& g) -> TensorList {
      Tensor gx = Tensor::empty({routing.tokens, g.size(2)}, g.dtype(), g.device());
      experts_to_tokens_into(g, routing, Tensor(), gx);
      return {gx};
    });
  }
  return out;
}

Tensor moe_combine(const Tensor& y, const Tensor& gates, const ExpertRouting& routing) {
  constexpr const char* kOp = "moe_combine";
  detail::check_float_inputs(kOp, {&y, &gates});
  check_routing(kOp, routing, y);
  KRAIT_CHECK(y.dim() == 3 && y.size(0) == routing.experts && y.size(1) == routing.capacity, kOp,
              ": y must be (experts = ", routing.experts, ", capacity = ", routing.capacity, ", features), got ",
              y.describe());
  detail::check_shape(kOp, "gates", gates, {routing.tokens, routing.top_k});
  check_float_dtype(kOp, "y", y);
  Tensor out = Tensor::empty({routing.tokens, y.size(2)}, y.dtype(), y.device());
  experts_to_tokens_into(y, routing, gates, out);
  if (needs_record({y, gates})) {
    const bool need_y = y.requires_grad(), need_gates = gates.requires_grad();
    // y's gradient reads the gates, the gates' gradient reads y.
    const Tensor saved_y = need_gates ? y.detach() : Tensor();
    const Tensor saved_gates = need_y ? gates.detach() : Tensor();
    const Shape y_shape = y.shape();
    record(kOp, {y, gates}, out, [=](const Tensor& g) -> TensorList {
      Tensor gy, ggates;
      if (need_y) {
        gy = Tensor::empty(y_shape, g.dtype(), g.device());
        tokens_to_experts_into(g, routing, saved_gates, gy);
      }
      if (need_gates) {
        ggates = Tensor::empty({routing.tokens, routing.top_k}, g.dtype(), g.device());
        combine_gates_backward_into(saved_y, g, routing, ggates);
      }
      return {gy, ggates};
    });
  }
  return out;
}

}  // namespace krait::ops
