// optim/clip.h — the global L2 norm of a ParameterList's gradients and clipping by it, as
// torch.nn.utils.clip_grad_norm_.
//
// Non-finite gradients: the norm is then inf or nan and is returned as it is, and clip_grad_norm
// leaves the gradients untouched. Callers check std::isfinite on the returned norm (and typically
// skip the optimizer step).
#pragma once

#include "autograd/parameter.h"

namespace krait {

// sqrt of the sum of squares of every gradient element, in double, over the parameters in list
// order (parameters without a gradient contribute nothing; none at all gives 0). Gradients must be
// f32 or f64 and on the CPU.
double global_grad_norm(const ParameterList& params);

// Computes norm = global_grad_norm(params) and, when coef = max_norm / (norm + 1e-6) is below 1
// (i.e. norm > max_norm - 1e-6), scales every gradient in place by coef, as torch does. Returns the
// norm before clipping. max_norm must be > 0.
double clip_grad_norm(const ParameterList& params, double max_norm);
// The same with the norm given: one computed over more gradients than these (a model's gradients
// spread over ranks). Returns norm.
double clip_grads_to_norm(const ParameterList& params, double norm, double max_norm);

}  // namespace krait
