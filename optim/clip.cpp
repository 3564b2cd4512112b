// optim/clip.cpp — gradient norm and clipping (see clip.h).
#include "optim/clip.h"

#include <cmath>

#include "common/error.h"
#include "kernels/cpu/adamw.h"
#if KRAIT_HAS_CUDA
#include <map>
#include <vector>

#include "autograd/cuda_context.h"
#include "kernels/cuda/adamw.h"
#endif

namespace krait {

namespace {
void check_grad(const Parameter& p, const Tensor& grad) {
  KRAIT_CHECK(grad.dtype() == DType::F32 || (grad.dtype() == DType::F64 && grad.device().is_cpu()),
              "gradient norm: gradient of '", p.name, "' is ", grad.describe(),
              "; only f32 (and on the cpu f64) is supported");
}

#if KRAIT_HAS_CUDA
// The f32 gradients on each CUDA device, for the multi-tensor kernels.
std::map<int, std::vector<kernels::cuda::FloatBuffer>> device_grads(const ParameterList& params) {
  std::map<int, std::vector<kernels::cuda::FloatBuffer>> out;
  for (const Parameter& p : params) {
    const Tensor grad = p.value.grad();
    if (grad.defined() && grad.device().is_cuda()) out[grad.device().index].push_back({grad.data<float>(), grad.numel()});
  }
  return out;
}

Tensor scratch(size_t bytes, int device) {
  return Tensor::empty({static_cast<int64_t>((bytes + 3) / 4)}, DType::I32, Device::cuda(device));
}
#endif
}  // namespace

double global_grad_norm(const ParameterList& params) {
  double sum = 0.0;
#if KRAIT_HAS_CUDA
  for (const auto& [device, buffers] : device_grads(params)) {
    const int count = static_cast<int>(buffers.size());
    const Tensor workspace = scratch(kernels::cuda::sum_squares_workspace_bytes(buffers.data(), count), device);
    const Tensor result = Tensor::empty({}, DType::F64, Device::cuda(device));
    kernels::cuda::sum_squares(buffers.data(), count, result.data<double>(), workspace.raw_data(), cuda::stream(device));
    sum += result.item();
  }
#endif
  for (const Parameter& p : params) {
    const Tensor grad = p.value.grad();
    if (!grad.defined()) continue;
    check_grad(p, grad);
    if (grad.device().is_cuda()) continue;  // summed above
    sum += grad.dtype() == DType::F64 ? kernels::cpu::sum_squares(grad.data<double>(), grad.numel())
                                      : kernels::cpu::sum_squares(grad.data<float>(), grad.numel());
  }
  return std::sqrt(sum);
}

double clip_grad_norm(const ParameterList& params, double max_norm) {
  return clip_grads_to_norm(params, global_grad_norm(params), max_norm);
}

double clip_grads_to_norm(const ParameterList& params, double norm, double max_norm) {
  KRAIT_CHECK(max_norm > 0.0, "clip_grad_norm: max_norm must be > 0, got ", max_norm);
  const double coef = max_norm / (norm + 1e-6);
  if (!std::isfinite(norm) || coef >= 1.0) return norm;
#if KRAIT_HAS_CUDA
  for (const auto& [device, buffers] : device_grads(params)) {
    const int count = static_cast<int>(buffers.size());
    const Tensor workspace = scratch(kernels::cuda::scale_inplace_workspace_bytes(count), device);
    kernels::cuda::scale_inplace(buffers.data(), count, static_cast<float>(coef), workspace.raw_data(),
                                 cuda::stream(device));
  }
#endif
  for (const Parameter& p : params) {
    const Tensor grad = p.value.grad();
    if (!grad.defined() || grad.device().is_cuda()) continue;
    if (grad.dtype() == DType::F64)
      kernels::cpu::scale_inplace(grad.data<double>(), coef, grad.numel());
    else
      kernels::cpu::scale_inplace(grad.data<float>(), static_cast<float>(coef), grad.numel());
  }
  return norm;
}

}  // namespace krait
