// autograd/ops/common.h — what every op file shares: input checks that name the op, and the dtype
// dispatch onto the CPU reference kernels.
#pragma once

#include <string>

#include "autograd/tensor.h"
#include "common/error.h"

namespace krait::ops::detail {

// All defined tensors in `tensors` share a device and dtype, and are floating point.
void check_float_inputs(const char* op, std::initializer_list<const Tensor*> tensors);
void check_shape(const char* op, const char* name, const Tensor& t, const Shape& expected);
void check_dim(const char* op, const char* name, const Tensor& t, int64_t dims);

// Calls f.template operator()<T>() with T = float or double for a CPU tensor of that dtype; any other
// dtype or device is an error naming the op. (The CUDA backend adds its own dispatch.)
template <typename F>
decltype(auto) dispatch_float(const char* op, const Tensor& t, F&& f) {
  KRAIT_CHECK(t.device().is_cpu(), op, ": no kernel for ", t.describe(), " yet (the CUDA ops come with the CUDA "
              "backend); move the tensors to the cpu");
  switch (t.dtype()) {
    case DType::F32: return f.template operator()<float>();
    case DType::F64: return f.template operator()<double>();
    default: KRAIT_FAIL(op, ": unsupported dtype for ", t.describe(), " (expected f32 or f64)");
  }
}

}  // namespace krait::ops::detail
