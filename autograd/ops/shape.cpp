// autograd/ops/shape.cpp — reshape, transpose, slice, split and concat. They move bytes only, so they
// take any dtype; each backward is the inverse rearrangement of the incoming gradient.
#include <numeric>

#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/layout.h"
#if KRAIT_HAS_CUDA
#include "autograd/cuda_context.h"
#include "kernels/cuda/layout.h"
#endif

namespace krait::ops {
namespace {

int64_t normalize_axis(const char* op, const Tensor& x, int64_t axis) {
  const int64_t d = x.dim();
  KRAIT_CHECK(axis >= -d && axis < d, op, ": axis ", axis, " out of range for ", x.describe());
  return axis < 0 ? axis + d : axis;
}

// Product of the dimensions in [begin, end).
int64_t span(const Shape& s, int64_t begin, int64_t end) {
  return std::accumulate(s.begin() + begin, s.begin() + end, int64_t{1}, std::multiplies<>());
}

// Copies rows [start, start + len) of `axis` from src into dst at dst_start (both CPU, same dtype).
void copy_rows(const Tensor& src, int64_t start, const Tensor& dst, int64_t dst_start, int64_t len, int64_t axis) {
  const Shape& s = src.shape();
  const int64_t outer = span(s, 0, axis), inner = span(s, axis + 1, src.dim());
#if KRAIT_HAS_CUDA
  if (src.device().is_cuda()) {
    kernels::cuda::copy_block(src.raw_data(), s[axis], start, dst.raw_data(), dst.shape()[axis], dst_start, len,
                              dtype_size(src.dtype()), outer, inner, cuda::stream(src.device().index));
    return;
  }
#endif
  kernels::cpu::copy_block(src.raw_data(), s[axis], start, dst.raw_data(), dst.shape()[axis], dst_start, len,
                           dtype_size(src.dtype()), outer, inner);
}

Tensor swap(const Tensor& x, int64_t a0, int64_t a1) {
  const Shape& s = x.shape();
  Shape out = s;
  std::swap(out[a0], out[a1]);
  Tensor y = Tensor::empty(out, x.dtype(), x.device());
  const int64_t outer = span(s, 0, a0), mid = span(s, a0 + 1, a1), inner = span(s, a1 + 1, x.dim());
#if KRAIT_HAS_CUDA
  if (x.device().is_cuda()) {
    kernels::cuda::swap_axes(x.raw_data(), y.raw_data(), dtype_size(x.dtype()), outer, s[a0], mid, s[a1], inner,
                             cuda::stream(x.device().index));
    return y;
  }
#endif
  kernels::cpu::swap_axes(x.raw_data(), y.raw_data(), dtype_size(x.dtype()), outer, s[a0], mid, s[a1], inner);
  return y;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  KRAIT_CHECK(shape_numel(shape) == x.numel(), "reshape: cannot reshape ", x.describe(), " to ", shape_str(shape));
  Tensor y = x.view(shape);
  if (needs_record({x})) {
    const Shape in_shape = x.shape();
    record("reshape", {x}, y, [in_shape](const Tensor& g) -> TensorList { return {g.view(in_shape)}; });
  }
  return y;
}

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
  int64_t a0 = normalize_axis("transpose", x, axis0), a1 = normalize_axis("transpose", x, axis1);
  if (a0 > a1) std::swap(a0, a1);
  Tensor y = a0 == a1 ? x.clone() : swap(x, a0, a1);
  if (needs_record({x})) {
    record("transpose", {x}, y, [a0, a1](const Tensor& g) -> TensorList {
      return {a0 == a1 ? g : swap(g, a0, a1)};
    });
  }
  return y;
}

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end) {
  axis = normalize_axis("slice", x, axis);
  KRAIT_CHECK(0 <= start && start <= end && end <= x.shape()[axis], "slice: [", start, ", ", end, ") out of range "
              "for axis ", axis, " of ", x.describe());
  Shape out = x.shape();
  out[axis] = end - start;
  Tensor y = Tensor::empty(out, x.dtype(), x.device());
  copy_rows(x, start, y, 0, end - start, axis);
  if (needs_record({x})) {
    const Shape in_shape = x.shape();
    record("slice", {x}, y, [=](const Tensor& g) -> TensorList {
      Tensor gx = Tensor::zeros(in_shape, g.dtype(), g.device());
      copy_rows(g, 0, gx, start, end - start, axis);
      return {gx};
    });
  }
  return y;
}

std::vector<Tensor> split(const Tensor& x, int64_t axis, const std::vector<int64_t>& sizes) {
  axis = normalize_axis("split", x, axis);
  int64_t total = 0;
  for (int64_t s : sizes) {
    KRAIT_CHECK(s >= 0, "split: negative size ", s);
    total += s;
  }
  KRAIT_CHECK(total == x.shape()[axis], "split: sizes add up to ", total, " but axis ", axis, " of ",
              x.describe(), " has ", x.shape()[axis]);
  std::vector<Tensor> parts;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    Shape out = x.shape();
    out[axis] = s;
    parts.push_back(Tensor::empty(out, x.dtype(), x.device()));
    copy_rows(x, offset, parts.back(), 0, s, axis);
    offset += s;
  }
  if (needs_record({x})) {
    const Shape in_shape = x.shape();
    record("split", {x}, parts, [=](const TensorList& grads) -> TensorList {
      Tensor gx = Tensor::empty(in_shape, grads[0].dtype(), grads[0].device());
      int64_t at = 0;
      for (size_t i = 0; i < sizes.size(); ++i) {
        copy_rows(grads[i], 0, gx, at, sizes[i], axis);
        at += sizes[i];
      }
      return {gx};
    });
  }
  return parts;
}

Tensor concat(const std::vector<Tensor>& parts, int64_t axis) {
  KRAIT_CHECK(!parts.empty(), "concat: no tensors");
  const Tensor& first = parts[0];
  axis = normalize_axis("concat", first, axis);
  Shape out = first.shape();
  out[axis] = 0;
  std::vector<int64_t> sizes;
  for (const Tensor& p : parts) {
    Shape expect = first.shape();
    expect[axis] = p.dim() == first.dim() ? p.shape()[axis] : -1;
    KRAIT_CHECK(p.shape() == expect && p.dtype() == first.dtype() && p.device() == first.device(),
                "concat: ", p.describe(), " does not fit ", first.describe(), " along axis ", axis);
    sizes.push_back(p.shape()[axis]);
    out[axis] += p.shape()[axis];
  }
  Tensor y = Tensor::empty(out, first.dtype(), first.device());
  int64_t at = 0;
  for (const Tensor& p : parts) {
    copy_rows(p, 0, y, at, p.shape()[axis], axis);
    at += p.shape()[axis];
  }
  if (needs_record(parts)) {
    record("concat", parts, y, [=](const Tensor& g) -> TensorList {
      NoGradGuard no_grad;
      return split(g, axis, sizes);
    });
  }
  return y;
}

}  // namespace krait::ops
