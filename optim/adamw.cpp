// optim/adamw.cpp — AdamW over a ParameterList (see adamw.h).
#include "optim/adamw.h"

#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/error.h"
#include "kernels/cpu/adamw.h"
#if KRAIT_HAS_CUDA
#include "autograd/cuda_context.h"
#include "kernels/cuda/adamw.h"
#endif

namespace krait {

namespace {
// Moments are f64 for f64 parameters and f32 otherwise.
DType moment_dtype(const Tensor& value) { return value.dtype() == DType::F64 ? DType::F64 : DType::F32; }

// A parameter step() can update: f32 or f64 on the CPU, f32 on CUDA, with a gradient of the same
// shape, dtype and device.
void check_updatable(const Parameter& p) {
  const Tensor& value = p.value;
  const Tensor grad = value.grad();
  const bool cpu_type = value.dtype() == DType::F32 || value.dtype() == DType::F64;
  KRAIT_CHECK(value.device().is_cpu() ? cpu_type : value.dtype() == DType::F32, "AdamW: parameter '", p.name,
              "' is ", value.describe(), "; only f32 (and on the cpu f64) parameters are updated");
  KRAIT_CHECK(grad.shape() == value.shape() && grad.dtype() == value.dtype() && grad.device() == value.device(),
              "AdamW: parameter '", p.name, "' is ", value.describe(), " but its gradient is ", grad.describe());
}

template <typename T>
void update(const Tensor& p, const Tensor& m, const Tensor& v, const kernels::cpu::AdamWHyper& h) {
  kernels::cpu::adamw_step<T>(p.data<T>(), p.grad().data<T>(), m.data<T>(), v.data<T>(), p.numel(), h);
}

#if KRAIT_HAS_CUDA
// The CUDA parameters of one device, updated by one multi-tensor launch.
void update_on_device(int device, const std::vector<kernels::cuda::AdamWTensor>& table) {
  if (table.empty()) return;
  const int64_t bytes = static_cast<int64_t>(kernels::cuda::adamw_workspace_bytes(static_cast<int>(table.size())));
  const Tensor workspace = Tensor::empty({(bytes + 3) / 4}, DType::I32, Device::cuda(device));
  kernels::cuda::adamw_step(table.data(), static_cast<int>(table.size()), workspace.raw_data(), cuda::stream(device));
}
#endif
}  // namespace

void AdamWConfig::validate() const {
  KRAIT_CHECK(lr >= 0.0, "AdamWConfig: lr must be >= 0, got ", lr);
  KRAIT_CHECK(beta1 >= 0.0 && beta1 < 1.0, "AdamWConfig: beta1 must be in [0, 1), got ", beta1);
  KRAIT_CHECK(beta2 >= 0.0 && beta2 < 1.0, "AdamWConfig: beta2 must be in [0, 1), got ", beta2);
  KRAIT_CHECK(eps >= 0.0, "AdamWConfig: eps must be >= 0, got ", eps);
  KRAIT_CHECK(weight_decay >= 0.0, "AdamWConfig: weight_decay must be >= 0, got ", weight_decay);
}

AdamW::AdamW(ParameterList params, const AdamWConfig& config)
    : params_(std::move(params)), config_(config), slots_(params_.size()) {
  config_.validate();
  std::unordered_set<std::string> names;
  for (const Parameter& p : params_) {
    KRAIT_CHECK(p.value.defined(), "AdamW: parameter '", p.name, "' has no tensor");
    KRAIT_CHECK(names.insert(p.name).second, "AdamW: parameter name '", p.name, "' appears twice");
  }
}

void AdamW::step(double lr) {
  KRAIT_CHECK(lr >= 0.0, "AdamW::step: lr must be >= 0, got ", lr);
  for (const Parameter& p : params_)
    if (p.value.grad().defined()) check_updatable(p);

#if KRAIT_HAS_CUDA
  std::map<int, std::vector<kernels::cuda::AdamWTensor>> on_device;  // CUDA parameters, one launch per device
#endif
  for (size_t i = 0; i < params_.size(); ++i) {
    const Parameter& p = params_[i];
    if (!p.value.grad().defined()) continue;
    Slot& slot = slots_[i];
    if (slot.step == 0) {
      slot.exp_avg = Tensor::zeros(p.value.shape(), moment_dtype(p.value), p.value.device());
      slot.exp_avg_sq = Tensor::zeros(p.value.shape(), moment_dtype(p.value), p.value.device());
    }
    ++slot.step;
    const kernels::cpu::AdamWHyper h{lr, config_.beta1, config_.beta2, config_.eps,
                                     p.tags.no_weight_decay ? 0.0 : config_.weight_decay, slot.step};
    if (p.value.device().is_cuda()) {
#if KRAIT_HAS_CUDA
      on_device[p.value.device().index].push_back({p.value.data<float>(), p.value.grad().data<float>(),
                                                   slot.exp_avg.data<float>(), slot.exp_avg_sq.data<float>(),
                                                   p.value.numel(), h});
#endif
    } else if (p.value.dtype() == DType::F64) {
      update<double>(p.value, slot.exp_avg, slot.exp_avg_sq, h);
    } else {
      update<float>(p.value, slot.exp_avg, slot.exp_avg_sq, h);
    }
  }
#if KRAIT_HAS_CUDA
  for (const auto& [device, table] : on_device) update_on_device(device, table);
#endif
  ++step_count_;
}

std::vector<AdamWParamState> AdamW::state() const {
  std::vector<AdamWParamState> out;
  for (size_t i = 0; i < params_.size(); ++i)
    if (slots_[i].step > 0)
      out.push_back({params_[i].name, slots_[i].step, slots_[i].exp_avg, slots_[i].exp_avg_sq});
  return out;
}

void AdamW::load_state(int64_t step_count, const std::vector<AdamWParamState>& state) {
  KRAIT_CHECK(step_count >= 0, "AdamW::load_state: step_count must be >= 0, got ", step_count);
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < params_.size(); ++i) index.emplace(params_[i].name, i);

  std::vector<Slot> slots(params_.size());
  for (const AdamWParamState& s : state) {
    auto it = index.find(s.name);
    KRAIT_CHECK(it != index.end(), "AdamW::load_state: no parameter named '", s.name, "'");
    Slot& slot = slots[it->second];
    KRAIT_CHECK(slot.step == 0, "AdamW::load_state: parameter '", s.name, "' appears twice");
    KRAIT_CHECK(s.step >= 1 && s.step <= step_count, "AdamW::load_state: parameter '", s.name, "' has step ",
                s.step, ", expected 1 to ", step_count);
    const Tensor& value = params_[it->second].value;
    for (const Tensor* moment : {&s.exp_avg, &s.exp_avg_sq})
      KRAIT_CHECK(moment->defined() && moment->shape() == value.shape(), "AdamW::load_state: parameter '", s.name,
                  "' is ", value.describe(), " but a moment is ",
                  moment->defined() ? moment->describe() : std::string("missing"));
    slot.step = s.step;
    slot.exp_avg = Tensor::empty(value.shape(), moment_dtype(value), value.device());
    slot.exp_avg.copy_from(s.exp_avg);
    slot.exp_avg_sq = Tensor::empty(value.shape(), moment_dtype(value), value.device());
    slot.exp_avg_sq.copy_from(s.exp_avg_sq);
  }
  slots_ = std::move(slots);
  step_count_ = step_count;
}

}  // namespace krait
