// layers/rms_norm.h — RMSNorm over the last axis with a learned weight (initialized to 1).
#pragma once

#include "layers/init.h"

namespace krait {

class RMSNorm {
 public:
  RMSNorm(const std::string& name, int64_t dim, double eps, const TensorOptions& options);
  Tensor forward(const Tensor& x) const;
  void append_parameters(ParameterList& out) const { out.push_back(weight); }

  Parameter weight;
  double eps;
};

}  // namespace krait
