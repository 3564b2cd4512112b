// autograd/ops/recompute.cpp — activation recomputation (see ops.h): the forward keeps only the input,
// the backward recomputes fn on a nested tape and backpropagates through it.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "common/error.h"

namespace krait::ops {

Tensor recompute(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input, const ParameterList& params) {
  KRAIT_CHECK(input.defined(), "recompute: undefined input");
  TensorList inputs{input};
  for (const Parameter& p : params) inputs.push_back(p.value);
  if (!needs_record(inputs)) return fn(input);

  Tensor output;
  {
    NoGradGuard no_grad;
    output = fn(input);
  }
  KRAIT_CHECK(output.defined() && is_floating(output.dtype()), "recompute: fn returned ", output.describe(),
              "; expected a floating-point tensor");
  const Tensor saved = input.detach();
  const bool input_needs_grad = input.requires_grad();
  record("recompute", inputs, output,
         [fn, saved, input_needs_grad, params, n_inputs = inputs.size()](const Tensor& grad_output) -> TensorList {
           NestedTape nested;
           Tensor leaf = saved.detach();
           if (input_needs_grad) leaf.set_requires_grad(true);
           const Tensor again = fn(leaf);
           TensorList grads(n_inputs);
           if (!again.requires_grad()) return grads;  // fn's output does not depend on what needs grad

           detail::check_recomputed_from("recompute", nested, {leaf}, params);
           backward(again, grad_output);  // accumulates into the parameters' leaves
           if (input_needs_grad) grads[0] = leaf.grad();
           return grads;
         });
  return output;
}

}  // namespace krait::ops
