// autograd/ops/common.cpp — shared op input checks (see common.h).
#include "autograd/ops/common.h"

#include <algorithm>

namespace krait::ops::detail {

void check_recomputed_from(const char* op, const NestedTape& nested, const TensorList& leaves,
                           const ParameterList& params) {
  std::vector<const GradSlot*> allowed;
  for (const Tensor& t : leaves)
    if (t.requires_grad()) allowed.push_back(t.grad_slot().get());
  for (const Parameter& p : params) allowed.push_back(p.value.grad_slot().get());
  for (const GradSlot* slot : nested.external_inputs())
    KRAIT_CHECK(std::find(allowed.begin(), allowed.end(), slot) != allowed.end(), op,
                ": the recomputed function used a tensor that requires grad other than its inputs and the listed "
                "parameters; list every parameter it uses");
}

void check_float_inputs(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    KRAIT_CHECK(is_floating(t->dtype()), op, ": expected a floating-point tensor, got ", t->describe());
    if (!first) {
      first = t;
      continue;
    }
    KRAIT_CHECK(t->dtype() == first->dtype() && t->device() == first->device(), op, ": inputs disagree: ",
                first->describe(), " and ", t->describe(), " (one dtype and one device per op)");
  }
}

void check_float_inputs(const char* op, std::initializer_list<const Tensor*> activations,
                        std::initializer_list<const Tensor*> params) {
  check_float_inputs(op, activations);
  const Tensor* first = nullptr;
  for (const Tensor* t : activations)
    if (t->defined() && !first) first = t;
  if (!first) return;
  const bool on_cuda = first->device().is_cuda();
  for (const Tensor* p : params) {
    if (!p->defined()) continue;
    const DType expected = on_cuda ? DType::F32 : first->dtype();
    KRAIT_CHECK(p->device() == first->device() && p->dtype() == expected, op, ": parameter ", p->describe(),
                " does not fit input ", first->describe(), " (expected ", dtype_name(expected), " on ",
                first->device().str(), ")");
  }
}

void check_shape(const char* op, const char* name, const Tensor& t, const Shape& expected) {
  KRAIT_CHECK(t.shape() == expected, op, ": ", name, " has shape ", shape_str(t.shape()), ", expected ",
              shape_str(expected));
}

void check_dim(const char* op, const char* name, const Tensor& t, int64_t dims) {
  KRAIT_CHECK(t.dim() == dims, op, ": ", name, " must be ", dims, "-D, got ", t.describe());
}

Tensor workspace_like(const Tensor& t, size_t bytes) {
  if (bytes == 0) return Tensor();
  return Tensor::empty({static_cast<int64_t>((bytes + 3) / 4)}, DType::I32, t.device());
}

}  // namespace krait::ops::detail
