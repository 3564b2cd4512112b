// autograd/ops/embedding.cpp — embedding lookup; its backward scatter-adds into the weight gradient.
// One closure serves both devices through embedding_backward_into(), which picks the kernel by the
// gradient's device.
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

std::string bad_id_message(int64_t id, const Shape& ids_shape, int64_t position, const std::string& ids_text,
                           int64_t vocab, const std::string& weight_text) {
  std::ostringstream os;
  os << "embedding: id " << id << " at position " << position_str(ids_shape, position) << " of ids " << ids_text
     << " is outside [0, " << vocab << ") (weight " << weight_text << ")";
  return os.str();
}

// Ids outside [0, vocab): on the CPU an error at once; on CUDA checked on the device and reported when the
// host next waits for it (cuda::defer_check), the kernels reading no row for such an id meanwhile.
void check_ids(const Tensor& ids, const Tensor& ids64, const Tensor& weight) {
  const int64_t n = ids64.numel(), vocab = weight.size(0);
#if KRAIT_HAS_CUDA
  if (weight.device().is_cuda()) {
    const Tensor first_bad = Tensor::empty({1}, DType::I64, weight.device());
    kernels::cuda::find_first_invalid_id(ids64.data<int64_t>(), n, vocab, first_bad.data<int64_t>(),
                                         detail::stream_of(weight));
    cuda::defer_check(first_bad, [ids64, shape = ids.shape(), ids_text = ids.describe(), weight_text = weight.describe(),
                                  vocab, n](int64_t bad) {
      return bad_id_message(ids64.view({n}).to(Device::cpu()).data<int64_t>()[bad], shape, bad, ids_text, vocab,
                            weight_text);
    });
    return;
  }
#endif
  const int64_t* id = ids64.data<int64_t>();
  const int64_t bad = kernels::cpu::first_invalid_id(id, n, vocab);
  KRAIT_CHECK(bad < 0, bad_id_message(id[bad], ids.shape(), bad, ids.describe(), vocab, weight.describe()));
}

// out (ids..., D) = weight[ids].
void embedding_forward_into(const Tensor& weight, const Tensor& ids64, const Tensor& out) {
  const int64_t n = ids64.numel(), dim = weight.size(1);
#if KRAIT_HAS_CUDA
  if (weight.device().is_cuda()) {
    kernels::cuda::embedding_forward(weight.raw_data(), weight.dtype(), ids64.data<int64_t>(), out.raw_data(), n,
                                     weight.size(0), dim, detail::stream_of(weight));
    return;
  }
#endif
  detail::dispatch_float("embedding", weight, [&]<typename T>() {
    kernels::cpu::embedding_forward(weight.data<T>(), ids64.data<int64_t>(), out.data<T>(), n, dim);
  });
}

// grad_weight (V, D), every element written, from g (ids..., D).
void embedding_backward_into(const Tensor& g, const Tensor& ids64, const Tensor& grad_weight) {
  const int64_t rows = ids64.numel(), vocab = grad_weight.size(0), dim = grad_weight.size(1);
#if KRAIT_HAS_CUDA
  if (g.device().is_cuda()) {
    const Tensor workspace =
        detail::workspace_like(g, kernels::cuda::embedding_backward_workspace_bytes(rows, vocab));
    kernels::cuda::embedding_backward(g.raw_data(), g.dtype(), ids64.data<int64_t>(), grad_weight.data<float>(),
                                      detail::raw_or_null(workspace), rows, vocab, dim, detail::stream_of(g));
    return;
  }
#endif
  detail::dispatch_float("embedding backward", g, [&]<typename T>() {
    kernels::cpu::embedding_backward(g.data<T>(), ids64.data<int64_t>(), grad_weight.data<T>(), rows, vocab, dim);
  });
}

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  detail::check_float_inputs("embedding", {&weight});
  detail::check_dim("embedding", "weight", weight, 2);
  KRAIT_CHECK(ids.dtype() == DType::I32 || ids.dtype() == DType::I64, "embedding: ids must be i32 or i64, got ",
              ids.describe());
  KRAIT_CHECK(ids.device() == weight.device(), "embedding: ids ", ids.describe(), " and weight ", weight.describe(),
              " are on different devices");
  const int64_t vocab = weight.size(0), dim = weight.size(1);
  const Tensor ids64 = ids.to(DType::I64);  // the kernels take one index type; i32 ids are widened
  Shape out_shape = ids.shape();
  out_shape.push_back(dim);
  Tensor out = Tensor::empty(out_shape, weight.dtype(), weight.device());
  check_ids(ids, ids64, weight);
  embedding_forward_into(weight, ids64, out);
  if (needs_record({weight})) {
    record("embedding", {weight}, out, [ids64, vocab, dim](const Tensor& g) -> TensorList {
      // CUDA accumulates the weight gradient in f32 whatever g's dtype.
      Tensor gw = Tensor::empty({vocab, dim}, g.device().is_cuda() ? DType::F32 : g.dtype(), g.device());
      embedding_backward_into(g, ids64, gw);
      return {gw};
    });
  }
  return out;
}

}  // namespace krait::ops
