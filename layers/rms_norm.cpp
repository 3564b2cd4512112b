// layers/rms_norm.cpp — RMSNorm (see rms_norm.h).
#include "layers/rms_norm.h"

#include "autograd/ops.h"

namespace krait {

RMSNorm::RMSNorm(const std::string& name, int64_t dim, double eps_, const TensorOptions& options)
    : weight(init::constant(name + ".weight", {dim}, options, 1.0, {.no_weight_decay = true})), eps(eps_) {}

Tensor RMSNorm::forward(const Tensor& x) const { return ops::rms_norm(x, weight.value, eps); }

}  // namespace krait
