// autograd/ops/embedding.cpp — embedding lookup; its backward scatter-adds into the weight gradient.
#include <sstream>

#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/embedding.h"
#if KRAIT_HAS_CUDA
#include "autograd/cuda_context.h"
#include "kernels/cuda/embedding.h"
#endif

namespace krait::ops {
namespace {

// The multi-index "[i, j, ...]" of element `flat` of a tensor of `shape`.
std::string position_str(const Shape& shape, int64_t flat) {
  Shape index(shape.size());
  for (size_t axis = shape.size(); axis-- > 0;) {
    index[axis] = flat % shape[axis];
    flat /= shape[axis];
  }
  return shape_str(index);
}

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  detail::check_float_inputs("embedding", {&weight});
  detail::check_dim("embedding", "weight", weight, 2);
  KRAIT_CHECK(ids.dtype() == DType::I32 || ids.dtype() == DType::I64, "embedding: ids must be i32 or i64, got ",
              ids.describe());
  KRAIT_CHECK(ids.device() == weight.device(), "embedding: ids ", ids.describe(), " and weight ", weight.describe(),
              " are on different devices");
  const int64_t vocab = weight.size(0), dim = weight.size(1), n = ids.numel();
  const Tensor ids64 = ids.to(DType::I64);  // the kernels take one index type; i32 ids are widened
  Shape out_shape = ids.shape();
  out_shape.push_back(dim);
  Tensor out = Tensor::empty(out_shape, weight.dtype(), weight.device());
#if KRAIT_HAS_CUDA
  if (weight.device().is_cuda()) {
    namespace gpu = kernels::cuda;
    // Checked when the host next waits for the device (cuda::defer_check); the kernels below read no
    // row for an id outside [0, vocab).
    const Tensor first_bad = Tensor::empty({1}, DType::I64, weight.device());
    gpu::find_first_invalid_id(ids64.data<int64_t>(), n, vocab, first_bad.data<int64_t>(), detail::stream_of(weight));
    cuda::defer_check(first_bad, [ids64, shape = ids.shape(), ids_text = ids.describe(), weight_text = weight.describe(),
                                  vocab, n](int64_t bad) {
      std::ostringstream os;
      os << "embedding: id " << ids64.view({n}).to(Device::cpu()).data<int64_t>()[bad] << " at position "
         << position_str(shape, bad) << " of ids " << ids_text << " is outside [0, " << vocab << ") (weight "
         << weight_text << ")";
      return os.str();
    });
    gpu::embedding_forward(weight.raw_data(), weight.dtype(), ids64.data<int64_t>(), out.raw_data(), n, vocab, dim,
                           detail::stream_of(weight));
    if (needs_record({weight})) {
      record("embedding", {weight}, out, [ids64, vocab, dim](const Tensor& g) -> TensorList {
        Tensor gw = Tensor::empty({vocab, dim}, DType::F32, g.device());
        const int64_t rows = ids64.numel();
        const Tensor workspace = detail::workspace_like(g, gpu::embedding_backward_workspace_bytes(rows, vocab));
        gpu::embedding_backward(g.raw_data(), g.dtype(), ids64.data<int64_t>(), gw.data<float>(),
                                detail::raw_or_null(workspace), rows, vocab, dim, detail::stream_of(g));
        return {gw};
      });
    }
    return out;
  }
#endif
  detail::dispatch_float("embedding", weight, [&]<typename T>() {
    const int64_t* id = ids64.data<int64_t>();
    const int64_t bad = kernels::cpu::first_invalid_id(id, n, vocab);
    KRAIT_CHECK(bad < 0, "embedding: id ", id[bad], " at position ", position_str(ids.shape(), bad), " of ids ",
                ids.describe(), " is outside [0, ", vocab, ") (weight ", weight.describe(), ")");
    kernels::cpu::embedding_forward(weight.data<T>(), id, out.data<T>(), n, dim);
  });
  if (needs_record({weight})) {
    const Shape weight_shape = weight.shape();
    record("embedding", {weight}, out, [ids64, weight_shape](const Tensor& g) -> TensorList {
      Tensor gw = Tensor::empty(weight_shape, g.dtype(), g.device());
      detail::dispatch_float("embedding backward", g, [&]<typename T>() {
        kernels::cpu::embedding_backward(g.data<T>(), ids64.data<int64_t>(), gw.data<T>(), ids64.numel(),
                                         weight_shape[0], weight_shape[1]);
      });
      return {gw};
    });
  }
  return out;
}

}  // namespace krait::ops
