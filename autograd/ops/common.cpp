// autograd/ops/common.cpp — shared op input checks (see common.h).
#include "autograd/ops/common.h"

namespace krait::ops::detail {

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

void check_shape(const char* op, const char* name, const Tensor& t, const Shape& expected) {
  KRAIT_CHECK(t.shape() == expected, op, ": ", name, " has shape ", shape_str(t.shape()), ", expected ",
              shape_str(expected));
}

void check_dim(const char* op, const char* name, const Tensor& t, int64_t dims) {
  KRAIT_CHECK(t.dim() == dims, op, ": ", name, " must be ", dims, "-D, got ", t.describe());
}

}  // namespace krait::ops::detail
