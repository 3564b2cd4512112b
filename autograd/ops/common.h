// autograd/ops/common.h — what every op file shares: input checks that name the op, and the dtype
// dispatch onto the CPU reference kernels.
#pragma once

#include <string>

#include "autograd/parameter.h"
#include "autograd/tape.h"
#include "autograd/tensor.h"
#include "common/error.h"
#include "kernels/cpu/gemm.h"
#if KRAIT_HAS_CUDA
#include "autograd/cuda_context.h"
#endif

namespace krait::ops::detail {

// All defined tensors in `tensors` share a device and dtype, and are floating point.
void check_float_inputs(const char* op, std::initializer_list<const Tensor*> tensors);
// Mixed precision: `activations` share a dtype and device; `params` (undefined ones skipped) are on
// that device and, on CUDA, f32 master weights whatever the activations' dtype (on the CPU they share
// the activations' dtype).
void check_float_inputs(const char* op, std::initializer_list<const Tensor*> activations,
                        std::initializer_list<const Tensor*> params);
void check_shape(const char* op, const char* name, const Tensor& t, const Shape& expected);
void check_dim(const char* op, const char* name, const Tensor& t, int64_t dims);

// Calls f.template operator()<T>() with T = float or double for a CPU tensor of that dtype; any other
// dtype or device is an error naming the op. Ops with CUDA kernels branch to them before calling this.
template <typename F>
decltype(auto) dispatch_float(const char* op, const Tensor& t, F&& f) {
  KRAIT_CHECK(t.device().is_cpu(), op, ": no CUDA kernel for ", t.describe(), "; move the tensors to the cpu");
  switch (t.dtype()) {
    case DType::F32: return f.template operator()<float>();
    case DType::F64: return f.template operator()<double>();
    default: KRAIT_FAIL(op, ": unsupported dtype for ", t.describe(), " (expected f32 or f64)");
  }
}

#if KRAIT_HAS_CUDA
// The stream of the device holding t: every op on that device runs on it.
inline cudaStream_t stream_of(const Tensor& t) { return cuda::stream(t.device().index); }
#endif

// After a recomputation on `nested`: every tensor requiring grad that it read is one of `leaves` or
// `params`, since the gradients of anything else would be lost (an error naming op otherwise).
void check_recomputed_from(const char* op, const NestedTape& nested, const TensorList& leaves,
                           const ParameterList& params);

// A scratch buffer of at least `bytes` on t's device (undefined when bytes is 0); the caching
// allocator makes these cheap.
Tensor workspace_like(const Tensor& t, size_t bytes);
// raw_data() of a defined tensor, nullptr otherwise.
inline void* raw_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }
inline float* f32_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }
template <typename T> T* data_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

// The products under matmul on raw row-major buffers of `device` (shape and strides as GemmShape):
// inputs of one dtype, the output of `output` (f32 from bf16 inputs on CUDA; the inputs' on the CPU),
// s.accumulate adding into it. For ops that multiply parts of tensors in place (row ranges).
void gemm_raw(const kernels::cpu::GemmShape& s, Device device, DType input, DType output, const void* a,
              const void* b, void* c);

}  // namespace krait::ops::detail
