// autograd/ops/linalg.cpp — matmul with transposes, batched, or with a shared left or right operand, and
// matmul_weight, its form for a parameter taken in the activations' dtype. Backward (C = op(A) op(B),
// G = dL/dC): dop(A) = G op(B)^T and dop(B) = op(A)^T G, each written as one more gemm with the
// transposes chosen so that no operand is copied.
#include "autograd/ops.h"
#include "autograd/ops/common.h"
#include "kernels/cpu/gemm.h"
#if KRAIT_HAS_CUDA
#include "autograd/cuda_context.h"
#include "kernels/cuda/gemm.h"
#endif

namespace krait::ops {
namespace {
using kernels::cpu::GemmShape;

// Where a product writes: a new tensor of `dtype`, or `into` (adding to it when accumulate).
struct Target {
  DType dtype;
  Tensor into;
  bool accumulate = false;
};

// op(x) (m x k) times op(y) (k x n) for each of `batch` matrices; stride 0 shares an operand,
// reduce_batches sums all products into one (m x n) result. That sum runs one product at a time into
// C, so a bf16 result is accumulated in f32 and rounded once at the end, as a single product would be.
Tensor product(const Tensor& x, bool tx, const Tensor& y, bool ty, int64_t batch, int64_t m, int64_t n, int64_t k,
               bool x_shared, bool y_shared, bool reduce_batches, const Shape& out_shape, const Target& target) {
  const bool widen = reduce_batches && batch > 1 && target.dtype == DType::BF16;
  KRAIT_CHECK(!(widen && target.into.defined()), "matmul: a bf16 batch sum cannot be written in place");
  Tensor out = target.into.defined() ? target.into
                                     : Tensor::empty(out_shape, widen ? DType::F32 : target.dtype, x.device());
  GemmShape s;
  s.batch = batch;
  s.m = m, s.n = n, s.k = k;
  s.trans_a = tx, s.trans_b = ty;
  s.stride_a = x_shared ? 0 : m * k;
  s.stride_b = y_shared ? 0 : k * n;
  s.stride_c = reduce_batches ? 0 : m * n;
  s.accumulate = target.accumulate;
  if (reduce_batches && batch == 0 && !target.accumulate) out.fill_zero();
  detail::gemm_raw(s, x.device(), x.dtype(), out.dtype(), x.raw_data(), y.raw_data(), out.raw_data());
  return widen ? out.to(target.dtype) : out;
}

// How matmul lays out op(a) op(b) as gemms: `batch` products of (m x k)(k x n), or one tall one when b is
// shared and a not transposed; a shared operand's gradient sums over the batch.
struct Layout {
  bool trans_a, trans_b, shared_a, shared_b;
  int64_t batch, m, n, k;
  Shape a_shape, b_shape, out_shape;
};

Layout layout_of(const char* op, const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  KRAIT_CHECK(a.dim() >= 2, op, ": a must be at least 2-D, got ", a.describe());
  const bool shared_b = b.dim() == 2;
  const bool shared_a = a.dim() == 2 && b.dim() == 3;
  KRAIT_CHECK(shared_b || shared_a || (b.dim() == 3 && a.dim() == 3 && b.size(0) == a.size(0)), op, ": b ",
              b.describe(), " must be 2-D, or 3-D with a 2-D a or a 3-D a of its batch (a is ", a.describe(), ")");
  const int64_t m = trans_a ? a.size(-1) : a.size(-2), k = trans_a ? a.size(-2) : a.size(-1);
  const int64_t kb = trans_b ? b.size(-1) : b.size(-2), n = trans_b ? b.size(-2) : b.size(-1);
  KRAIT_CHECK(k == kb, op, ": inner dimensions differ: ", a.describe(), (trans_a ? "^T" : ""), " x ", b.describe(),
              (trans_b ? "^T" : ""), " (", k, " vs ", kb, ")");
  const int64_t batch = shared_a ? b.size(0) : a.numel() / std::max<int64_t>(m * k, 1);
  Shape out_shape = shared_a ? Shape{batch} : Shape(a.shape().begin(), a.shape().end() - 2);
  out_shape.push_back(m);
  out_shape.push_back(n);
  const bool flat = shared_b && !trans_a;  // one tall gemm over all rows of a
  return {trans_a, trans_b, shared_a, shared_b, flat ? 1 : batch, flat ? batch * m : m, n, k,
          a.shape(),  b.shape(),  out_shape};
}

Tensor forward(const Layout& l, const Tensor& a, const Tensor& b) {
  return product(a, l.trans_a, b, l.trans_b, l.batch, l.m, l.n, l.k, l.shared_a, l.shared_b, false, l.out_shape,
                 {a.dtype()});
}

Tensor grad_a(const Layout& l, const Tensor& b, const Tensor& g, const Target& target) {
  return l.trans_a ? product(b, l.trans_b, g, true, l.batch, l.k, l.m, l.n, l.shared_b, false, l.shared_a, l.a_shape, target)
                   : product(g, false, b, !l.trans_b, l.batch, l.m, l.k, l.n, false, l.shared_b, l.shared_a, l.a_shape, target);
}

Tensor grad_b(const Layout& l, const Tensor& a, const Tensor& g, const Target& target) {
  return l.trans_b ? product(g, true, a, l.trans_a, l.batch, l.n, l.k, l.m, false, l.shared_a, l.shared_b, l.b_shape, target)
                   : product(a, !l.trans_a, g, false, l.batch, l.k, l.n, l.m, l.shared_a, false, l.shared_b, l.b_shape, target);
}

}  // namespace

void detail::gemm_raw(const GemmShape& s, Device device, DType input, DType output, const void* a, const void* b,
                      void* c) {
#if KRAIT_HAS_CUDA
  if (device.is_cuda()) {
    const kernels::cuda::GemmProblem p{s.batch,    s.m,        s.n,        s.k,          s.trans_a, s.trans_b,
                                       s.stride_a, s.stride_b, s.stride_c, s.accumulate, input,     output};
    kernels::cuda::gemm(cuda::gemm_context(device.index), p, a, b, c);
    return;
  }
#endif
  KRAIT_CHECK(device.is_cpu() && input == output && (input == DType::F32 || input == DType::F64), "matmul: no ",
              device.str(), " product of ", dtype_name(input), " into ", dtype_name(output));
  if (input == DType::F32) kernels::cpu::gemm(s, static_cast<const float*>(a), static_cast<const float*>(b), static_cast<float*>(c));
  else kernels::cpu::gemm(s, static_cast<const double*>(a), static_cast<const double*>(b), static_cast<double*>(c));
}

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  detail::check_float_inputs("matmul", {&a, &b});
  const Layout l = layout_of("matmul", a, b, trans_a, trans_b);
  Tensor c = forward(l, a, b);
  if (needs_record({a, b})) {
    const Tensor sa = a.detach(), sb = b.detach();
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    record("matmul", {a, b}, c, [=](const Tensor& g) -> TensorList {
      return {need_a ? grad_a(l, sb, g, {sa.dtype()}) : Tensor(), need_b ? grad_b(l, sa, g, {sb.dtype()}) : Tensor()};
    });
  }
  return c;
}

TensorList matmul_weight_rows(const Tensor& weight, const std::vector<int64_t>& rows, const Tensor& x, bool weight_left,
                              bool trans_weight, bool trans_x) {
  constexpr const char* op = "matmul_weight";
  detail::check_float_inputs(op, {&x}, {&weight});
  KRAIT_CHECK(weight.dim() == 2, op, ": the weight must be 2-D, got ", weight.describe());
  int64_t total = 0;
  for (const int64_t r : rows) {
    KRAIT_CHECK(r > 0, op, ": row counts must be positive");
    total += r;
  }
  KRAIT_CHECK(total == weight.size(0), op, ": row counts sum to ", total, ", but the weight is ", weight.describe());
  const int64_t cols = weight.size(1);
  const DType dtype = x.dtype();
  std::vector<int64_t> first(rows.size(), 0);  // each part's first row
  for (size_t i = 1; i < rows.size(); ++i) first[i] = first[i - 1] + rows[i - 1];
  // Part i of the weight (or of its gradient): a view of its rows.
  const auto part = [=](const Tensor& w, size_t i) { return w.view_range(first[i] * cols, {rows[i], cols}); };
  const auto in_dtype = [dtype](const Tensor& w) {
    NoGradGuard no_grad;
    return ops::cast(w, dtype);  // the view itself when it already is
  };
  std::vector<Layout> layouts;
  TensorList outs;
  const Tensor saved_weight = weight.detach();
  for (size_t i = 0; i < rows.size(); ++i) {
    const Tensor w = in_dtype(part(saved_weight, i));
    const Tensor& a = weight_left ? w : x;
    const Tensor& b = weight_left ? x : w;
    layouts.push_back(layout_of(op, a, b, weight_left ? trans_weight : trans_x, weight_left ? trans_x : trans_weight));
    outs.push_back(forward(layouts.back(), a, b));
  }
  if (needs_record({weight, x})) {
    const Tensor sx = x.detach();
    const bool need_w = weight.requires_grad(), need_x = x.requires_grad();
    const Shape w_shape = weight.shape();
    const DType w_dtype = weight.dtype();
    record(op, {weight, x}, outs, [=](const TensorList& g) -> TensorList {
      const Tensor gw = need_w ? Tensor::empty(w_shape, w_dtype, g[0].device()) : Tensor();
      const Tensor gx = need_x ? Tensor::empty(sx.shape(), dtype, g[0].device()) : Tensor();
      for (size_t i = 0; i < rows.size(); ++i) {
        const Layout& l = layouts[i];
        if (need_w) {  // straight into the weight's rows, in its dtype
          const Target into{w_dtype, part(gw, i)};
          weight_left ? grad_a(l, sx, g[i], into) : grad_b(l, sx, g[i], into);
        }
        if (need_x) {  // the parts' contributions summed in place
          const Tensor w = in_dtype(part(saved_weight, i));
          const Target into{dtype, gx, i > 0};
          weight_left ? grad_b(l, w, g[i], into) : grad_a(l, w, g[i], into);
        }
      }
      return {gw, gx};
    });
  }
  return outs;
}

Tensor matmul_weight(const Tensor& weight, const Tensor& x, bool weight_left, bool trans_weight, bool trans_x) {
  KRAIT_CHECK(weight.dim() == 2, "matmul_weight: the weight must be 2-D, got ", weight.describe());
  return matmul_weight_rows(weight, {weight.size(0)}, x, weight_left, trans_weight, trans_x)[0];
}

}  // namespace krait::ops
