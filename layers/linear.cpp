// layers/linear.cpp — Linear (see linear.h).
#include "layers/linear.h"

#include "autograd/ops.h"

namespace krait {

Linear::Linear(const std::string& name, int64_t in_features, int64_t out_features, bool has_bias, const TensorOptions& options,
               Rng& rng)
    : weight(init::uniform(name + ".weight", {out_features, in_features}, options, rng,
                           init::default_bound(in_features))) {
  if (has_bias) bias = init::constant(name + ".bias", {out_features}, options, 0.0, {.no_weight_decay = true});
}

// Under mixed precision x is bf16 and the fp32 master weights are cast to it for the product.
Tensor Linear::forward(const Tensor& x) const {
  const Tensor y = ops::matmul_weight(weight.value, x, false, true, false);
  return bias.value.defined() ? ops::add(y, ops::cast(bias.value, x.dtype())) : y;
}

void Linear::append_parameters(ParameterList& out) const {
  out.push_back(weight);
  if (bias.value.defined()) out.push_back(bias);
}

}  // namespace krait
