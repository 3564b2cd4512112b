// optim/clip.cpp — gradient norm and clipping (see clip.h).
#include "optim/clip.h"

#include <cmath>

#include "common/error.h"
#include "kernels/cpu/adamw.h"

namespace krait {

namespace {
void check_grad(const Parameter& p, const Tensor& grad) {
  KRAIT_CHECK(grad.device().is_cpu(), "gradient norm: gradient of '", p.name, "' is ", grad.describe(),
              ": no CUDA kernel yet");
  KRAIT_CHECK(grad.dtype() == DType::F32 || grad.dtype() == DType::F64, "gradient norm: gradient of '", p.name,
              "' is ", grad.describe(), "; only f32 and f64 are supported");
}
}  // namespace

double global_grad_norm(const ParameterList& params) {
  double sum = 0.0;
  for (const Parameter& p : params) {
    const Tensor grad = p.value.grad();
    if (!grad.defined()) continue;
    check_grad(p, grad);
    sum += grad.dtype() == DType::F64 ? kernels::cpu::sum_squares(grad.data<double>(), grad.numel())
                                      : kernels::cpu::sum_squares(grad.data<float>(), grad.numel());
  }
  return std::sqrt(sum);
}

double clip_grad_norm(const ParameterList& params, double max_norm) {
  KRAIT_CHECK(max_norm > 0.0, "clip_grad_norm: max_norm must be > 0, got ", max_norm);
  const double norm = global_grad_norm(params);
  const double coef = max_norm / (norm + 1e-6);
  if (!std::isfinite(norm) || coef >= 1.0) return norm;
  for (const Parameter& p : params) {
    const Tensor grad = p.value.grad();
    if (!grad.defined()) continue;
    if (grad.dtype() == DType::F64)
      kernels::cpu::scale_inplace(grad.data<double>(), coef, grad.numel());
    else
      kernels::cpu::scale_inplace(grad.data<float>(), static_cast<float>(coef), grad.numel());
  }
  return norm;
}

}  // namespace krait
