// autograd/ops/selective_scan.cpp — ops::selective_scan: checks the inputs, runs the scan (the CPU
// reference or the fused CUDA kernels), and records a node whose backward recomputes the states from the
// saved inputs (the forward keeps nothing of size (B, D, L, N); on CUDA only the chunk-boundary states).
// One closure serves both devices through scan_backward_into(), which picks the kernel by the gradient's
// device. Equations: docs/selective_scan.md.
#include <algorithm>

#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/selective_scan.h"
#if KRAIT_HAS_CUDA
#include <cuda_bf16.h>

#include "kernels/cuda/selective_scan.h"
#endif

namespace krait::ops {
namespace {
namespace cpu = kernels::cpu;
constexpr const char* kOp = "selective_scan";

// The inputs in the order the node records them (and its backward returns gradients).
TensorList input_list(const ScanInputs& in) {
  return {in.u, in.delta, in.A, in.B, in.C, in.D_skip, in.z, in.delta_bias};
}

ScanInputs detached(const ScanInputs& in) {
  const auto keep = [](const Tensor& t) { return t.defined() ? t.detach() : Tensor(); };
  return {keep(in.u), keep(in.delta), keep(in.A), keep(in.B), keep(in.C),
          keep(in.D_skip), keep(in.z), keep(in.delta_bias), in.delta_softplus};
}

void check_shape(const char* name, const Tensor& t, const char* dims, const Shape& expected) {
  KRAIT_CHECK(t.shape() == expected, kOp, ": ", name, " has shape ", shape_str(t.shape()), ", expected ", dims,
              " = ", shape_str(expected));
}

// B or C: (batch, N, L) input-dependent or (D, N) time-invariant.
void check_bc(const char* name, const Tensor& t, int64_t batch, int64_t dim, int64_t len, int64_t state) {
  const Shape variable{batch, state, len}, invariant{dim, state};
  KRAIT_CHECK(t.shape() == variable || t.shape() == invariant, kOp, ": ", name, " has shape ", shape_str(t.shape()),
              ", expected [B, N, L] = ", shape_str(variable), " or [D, N] = ", shape_str(invariant));
}

void check_inputs(const ScanInputs& in) {
  const std::pair<const char*, const Tensor*> required[] = {
      {"u", &in.u}, {"delta", &in.delta}, {"A", &in.A}, {"B", &in.B}, {"C", &in.C}};
  for (const auto& [name, t] : required) KRAIT_CHECK(t->defined(), kOp, ": ", name, " is required");
  detail::check_float_inputs(kOp, {&in.u, &in.delta, &in.B, &in.C, &in.z}, {&in.A, &in.D_skip, &in.delta_bias});
  KRAIT_CHECK(in.u.dim() == 3, kOp, ": u must be 3-D [B, D, L], got ", in.u.describe());
  const int64_t batch = in.u.size(0), dim = in.u.size(1), len = in.u.size(2);
  check_shape("delta", in.delta, "[B, D, L]", in.u.shape());
  KRAIT_CHECK(in.A.dim() == 2 && in.A.size(0) == dim, kOp, ": A has shape ", shape_str(in.A.shape()),
              ", expected [D, N] with D = ", dim);
  const int64_t state = in.A.size(1);
  check_bc("B", in.B, batch, dim, len, state);
  check_bc("C", in.C, batch, dim, len, state);
  if (in.D_skip.defined()) check_shape("D_skip", in.D_skip, "[D]", {dim});
  if (in.z.defined()) check_shape("z", in.z, "[B, D, L]", in.u.shape());
  if (in.delta_bias.defined()) check_shape("delta_bias", in.delta_bias, "[D]", {dim});
}

using detail::data_or_null;

template <typename T> cpu::ScanProblem<T> problem_of(const ScanInputs& in) {
  cpu::ScanProblem<T> p;
  p.batch = in.u.size(0), p.dim = in.u.size(1), p.len = in.u.size(2), p.state = in.A.size(1);
  p.u = in.u.data<T>(), p.delta = in.delta.data<T>(), p.A = in.A.data<T>(), p.B = in.B.data<T>(), p.C = in.C.data<T>();
  p.D_skip = data_or_null<T>(in.D_skip), p.z = data_or_null<T>(in.z), p.delta_bias = data_or_null<T>(in.delta_bias);
  p.B_variable = in.B.dim() == 3, p.C_variable = in.C.dim() == 3, p.delta_softplus = in.delta_softplus;
  return p;
}

#if KRAIT_HAS_CUDA
namespace gpu = kernels::cuda;

template <typename T> const T* device_ptr(const Tensor& t) { return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr; }
const float* f32_ptr(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

template <typename T> gpu::ScanProblem<T> gpu_problem_of(const ScanInputs& in) {
  gpu::ScanProblem<T> p;
  p.batch = in.u.size(0), p.dim = in.u.size(1), p.len = in.u.size(2), p.state = in.A.size(1);
  p.u = device_ptr<T>(in.u), p.delta = device_ptr<T>(in.delta), p.A = f32_ptr(in.A);
  p.B = device_ptr<T>(in.B), p.C = device_ptr<T>(in.C), p.D_skip = f32_ptr(in.D_skip), p.z = device_ptr<T>(in.z);
  p.delta_bias = f32_ptr(in.delta_bias);
  p.B_variable = in.B.dim() == 3, p.C_variable = in.C.dim() == 3, p.delta_softplus = in.delta_softplus;
  return p;
}

// Bytes as a tensor of f32 words (undefined for 0 bytes).
Tensor f32_buffer(size_t bytes, Device device) {
  return bytes ? Tensor::empty({static_cast<int64_t>((bytes + 3) / 4)}, DType::F32, device) : Tensor();
}

// Calls f.template operator()<T>() with T the CUDA element type of t: __nv_bfloat16 for bf16, else float.
template <typename F> decltype(auto) dispatch_cuda(const Tensor& t, F&& f) {
  return t.dtype() == DType::BF16 ? f.template operator()<__nv_bfloat16>() : f.template operator()<float>();
}
#endif

// What the backward reads besides the saved inputs: on CUDA the chunk-boundary states and the size of its
// workspace, both from the forward's plan; nothing on the CPU, whose backward recomputes every state.
struct Checkpoints {
  Tensor states;
  size_t backward_workspace = 0;
};

// out (B, D, L) = the scan of `in`, from and into `state` when it is defined (a stateful scan).
Checkpoints scan_forward_into(const ScanInputs& in, const Tensor& out, const Tensor& state = Tensor()) {
#if KRAIT_HAS_CUDA
  if (in.u.device().is_cuda()) {
    return dispatch_cuda(in.u, [&]<typename T>() {
      const Device device = in.u.device();
      gpu::ScanProblem<T> problem = gpu_problem_of<T>(in);
      problem.initial_state = problem.final_state = detail::f32_or_null(state);
      const gpu::ScanBuffers sizes = gpu::selective_scan_buffers(problem);
      const Checkpoints checkpoints{f32_buffer(sizes.saved_states, device), sizes.backward_workspace};
      gpu::selective_scan_forward(problem, static_cast<T*>(out.raw_data()), detail::f32_or_null(checkpoints.states),
                                  detail::raw_or_null(f32_buffer(sizes.forward_workspace, device)),
                                  detail::stream_of(in.u));
      return checkpoints;
    });
  }
#endif
  detail::dispatch_float(kOp, in.u, [&]<typename T>() {
    cpu::ScanProblem<T> problem = problem_of<T>(in);
    problem.initial_state = problem.final_state = data_or_null<T>(state);
    cpu::selective_scan_forward(problem, out.data<T>());
  });
  return {};
}

// grads (in input_list order; undefined where the input is) from g, the saved inputs and the checkpoints.
void scan_backward_into(const ScanInputs& saved, [[maybe_unused]] const Checkpoints& checkpoints, const Tensor& g,
                        const TensorList& grads) {
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    dispatch_cuda(saved.u, [&]<typename T>() {
      auto ptr = [&](size_t k) { return static_cast<T*>(detail::raw_or_null(grads[k])); };
      const gpu::ScanGrads<T> dg{ptr(0), ptr(1), detail::f32_or_null(grads[2]), ptr(3), ptr(4),
                                 detail::f32_or_null(grads[5]), ptr(6), detail::f32_or_null(grads[7])};
      gpu::selective_scan_backward(gpu_problem_of<T>(saved), static_cast<const T*>(g.raw_data()),
                                   detail::f32_or_null(checkpoints.states), dg,
                                   detail::raw_or_null(f32_buffer(checkpoints.backward_workspace, g.device())),
                                   detail::stream_of(g));
    });
    return;
  }
#endif
  detail::dispatch_float(kOp, g, [&]<typename T>() {
    cpu::ScanGrads<T> dg;
    dg.u = grads[0].data<T>(), dg.delta = grads[1].data<T>(), dg.A = grads[2].data<T>();
    dg.B = grads[3].data<T>(), dg.C = grads[4].data<T>(), dg.D_skip = data_or_null<T>(grads[5]);
    dg.z = data_or_null<T>(grads[6]), dg.delta_bias = data_or_null<T>(grads[7]);
    cpu::selective_scan_backward(problem_of<T>(saved), g.data<T>(), dg);
  });
}

// The stateful scan's checks besides check_inputs: no tape, and a state (B, D, N) like u.
void check_stateful(const char* op, const ScanInputs& in, const Tensor& state) {
  check_inputs(in);
  KRAIT_CHECK(!needs_record(input_list(in)), op, ": is not differentiable; run it under NoGradGuard");
  const Shape expected{in.u.size(0), in.u.size(1), in.A.size(1)};
  const DType dtype = scan_state_dtype(in.u.dtype());
  KRAIT_CHECK(state.defined() && state.shape() == expected && state.dtype() == dtype && state.device() == in.u.device(),
              op, ": state is ", state.defined() ? state.describe() : "undefined", ", expected ", dtype_name(dtype),
              shape_str(expected), " on ", in.u.device().str());
}

}  // namespace

DType scan_state_dtype(DType dtype) { return dtype == DType::BF16 ? DType::F32 : dtype; }

Tensor selective_scan_stateful(const ScanInputs& in, const Tensor& state) {
  check_stateful("selective_scan_stateful", in, state);
  Tensor out = Tensor::empty(in.u.shape(), in.u.dtype(), in.u.device());
  scan_forward_into(in, out, state);
  return out;
}

Tensor selective_scan(const ScanInputs& in) {
  check_inputs(in);
  Tensor out = Tensor::empty(in.u.shape(), in.u.dtype(), in.u.device());
  const Checkpoints checkpoints = scan_forward_into(in, out);
  const TensorList inputs = input_list(in);
  if (needs_record(inputs)) {
    std::vector<bool> needed;
    for (const Tensor& t : inputs) needed.push_back(t.requires_grad());
    record(kOp, inputs, out, [saved = detached(in), checkpoints, needed](const Tensor& g) -> TensorList {
      TensorList grads;
      for (const Tensor& t : input_list(saved))
        grads.push_back(t.defined() ? Tensor::empty(t.shape(), t.dtype(), t.device()) : Tensor());
      scan_backward_into(saved, checkpoints, g, grads);
      for (size_t k = 0; k < grads.size(); ++k)
        if (!needed[k]) grads[k] = Tensor();
      return grads;
    });
  }
  return out;
}

Tensor selective_scan_recomputing(const std::function<ScanInputs(const TensorList&)>& prepare,
                                  const TensorList& inputs, const ParameterList& params) {
  constexpr const char* op = "selective_scan_recomputing";
  TensorList recorded = inputs;
  for (const Parameter& p : params) recorded.push_back(p.value);
  if (!needs_record(recorded)) return selective_scan(prepare(inputs));

  ScanInputs in;
  {
    NoGradGuard no_grad;
    in = prepare(inputs);
  }
  check_inputs(in);
  Tensor out = Tensor::empty(in.u.shape(), in.u.dtype(), in.u.device());
  const Checkpoints checkpoints = scan_forward_into(in, out);
  in = ScanInputs();  // what prepare made is dropped here and made again in the backward

  TensorList saved;
  std::vector<bool> needed;
  for (const Tensor& t : inputs) {
    saved.push_back(t.defined() ? t.detach() : Tensor());
    needed.push_back(t.requires_grad());
  }
  record(op, recorded, out, [=, n_recorded = recorded.size()](const Tensor& g) -> TensorList {
    NestedTape nested;
    TensorList leaves;
    for (size_t k = 0; k < saved.size(); ++k) {
      leaves.push_back(saved[k].defined() ? saved[k].detach() : Tensor());
      if (needed[k]) leaves.back().set_requires_grad(true);
    }
    const ScanInputs again = prepare(leaves);
    detail::check_recomputed_from(op, nested, leaves, params);
    const TensorList made = input_list(again);
    TensorList scan_grads;  // the kernels write a gradient for every input given
    for (const Tensor& t : made) scan_grads.push_back(t.defined() ? Tensor::empty(t.shape(), t.dtype(), t.device()) : Tensor());
    {
      NoGradGuard no_grad;
      scan_backward_into(detached(again), checkpoints, g, scan_grads);
    }
    TensorList grads(n_recorded);
    if (std::any_of(made.begin(), made.end(), [](const Tensor& t) { return t.requires_grad(); })) {
      backward(made, scan_grads);  // into the leaves, and the parameters in place
      for (size_t k = 0; k < leaves.size(); ++k)
        if (needed[k]) grads[k] = leaves[k].grad();
    }
    return grads;
  });
  return out;
}

}  // namespace krait::ops
