// autograd/ops/selective_scan.cpp — ops::selective_scan: checks the inputs, runs the CPU reference
// scan, and records a node whose backward recomputes the states from the saved inputs (the forward
// keeps nothing of size (B, D, L, N)). Equations: docs/selective_scan.md.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/selective_scan.h"

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
  detail::check_float_inputs(kOp, {&in.u, &in.delta, &in.A, &in.B, &in.C, &in.D_skip, &in.z, &in.delta_bias});
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

template <typename T> T* data_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

template <typename T> cpu::ScanProblem<T> problem_of(const ScanInputs& in) {
  cpu::ScanProblem<T> p;
  p.batch = in.u.size(0), p.dim = in.u.size(1), p.len = in.u.size(2), p.state = in.A.size(1);
  p.u = in.u.data<T>(), p.delta = in.delta.data<T>(), p.A = in.A.data<T>(), p.B = in.B.data<T>(), p.C = in.C.data<T>();
  p.D_skip = data_or_null<T>(in.D_skip), p.z = data_or_null<T>(in.z), p.delta_bias = data_or_null<T>(in.delta_bias);
  p.B_variable = in.B.dim() == 3, p.C_variable = in.C.dim() == 3, p.delta_softplus = in.delta_softplus;
  return p;
}

}  // namespace

Tensor selective_scan(const ScanInputs& in) {
  check_inputs(in);
  Tensor out = Tensor::empty(in.u.shape(), in.u.dtype(), in.u.device());
  detail::dispatch_float(kOp, in.u, [&]<typename T>() { cpu::selective_scan_forward(problem_of<T>(in), out.data<T>()); });

  const TensorList inputs = input_list(in);
  if (needs_record(inputs)) {
    std::vector<bool> needed;
    for (const Tensor& t : inputs) needed.push_back(t.requires_grad());
    record(kOp, inputs, out, [saved = detached(in), needed](const Tensor& g) -> TensorList {
      TensorList grads;
      for (const Tensor& t : input_list(saved))
        grads.push_back(t.defined() ? Tensor::empty(t.shape(), t.dtype(), t.device()) : Tensor());
      detail::dispatch_float(kOp, g, [&]<typename T>() {
        cpu::ScanGrads<T> dg;
        dg.u = grads[0].data<T>(), dg.delta = grads[1].data<T>(), dg.A = grads[2].data<T>();
        dg.B = grads[3].data<T>(), dg.C = grads[4].data<T>(), dg.D_skip = data_or_null<T>(grads[5]);
        dg.z = data_or_null<T>(grads[6]), dg.delta_bias = data_or_null<T>(grads[7]);
        cpu::selective_scan_backward(problem_of<T>(saved), g.data<T>(), dg);
      });
      for (size_t k = 0; k < grads.size(); ++k)
        if (!needed[k]) grads[k] = Tensor();
      return grads;
    });
  }
  return out;
}

}  // namespace krait::ops
