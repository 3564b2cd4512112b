// layers/linear.h — Linear: y = x W^T (+ b), W (out, in), over the last axis of x.
#pragma once

#include "layers/init.h"

namespace krait {

class Linear {
 public:
  // PyTorch's default initialization (see init::default_bound); the bias, when present, starts at 0
  // as the reference's _init_weights sets it.
  Linear(const std::string& name, int64_t in_features, int64_t out_features, bool bias, const TensorOptions& options, Rng& rng);

  Tensor forward(const Tensor& x) const;  // (..., in) -> (..., out)
  void append_parameters(ParameterList& out) const;

  Parameter weight;
  Parameter bias;  // value undefined when the layer has no bias
};

}  // namespace krait
