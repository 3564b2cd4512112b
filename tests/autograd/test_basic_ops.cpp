// Elementwise, reduction, shape and matmul ops: forward values worked out by hand or by brute force,
// and float64 gradient checks at awkward sizes.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "common/error.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {
using testing::expect_close;
using testing::expect_gradcheck;
using testing::random_leaf;
using testing::random_tensor;


TEST(ElementwiseOps, ForwardValues) {
  const Tensor x = Tensor::from_vector({-1.0, 0.0, 2.0, 30.0}, {4}, DType::F64);
  const double s1 = 1 / (1 + std::exp(1.0)), s2 = 1 / (1 + std::exp(-2.0));
  expect_close(ops::silu(x), {-s1, 0.0, 2 * s2, 30 / (1 + std::exp(-30.0))}, 1e-15, 1e-15);
  // softplus passes x through above 20, as PyTorch and mamba_ssm do.
  expect_close(ops::softplus(x), {std::log1p(std::exp(-1.0)), std::log(2.0), std::log1p(std::exp(2.0)), 30.0},
               1e-15, 0);
  expect_close(ops::exp(x), {std::exp(-1.0), 1.0, std::exp(2.0), std::exp(30.0)}, 1e-15, 0);
  expect_close(ops::sigmoid(x), {s1, 0.5, s2, 1 / (1 + std::exp(-30.0))}, 1e-15, 0);
  expect_close(ops::scale(x, -0.5), {0.5, 0.0, -1.0, -15.0}, 0, 0);
}

TEST(ElementwiseOps, BiasBroadcast) {
  const Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  const Tensor b = Tensor::from_vector({10, 20, 30}, {3}, DType::F64);
  expect_close(ops::add(a, b), {11, 22, 33, 14, 25, 36}, 0, 0);
  expect_close(ops::mul(a, b), {10, 40, 90, 40, 100, 180}, 0, 0);
  EXPECT_THROW(ops::add(a, Tensor::zeros({2}, DType::F64)), Error);
  EXPECT_THROW(ops::add(a, Tensor::zeros({3}, DType::F32)), Error);
}

TEST(ElementwiseOps, Gradients) {
  Rng rng(1);
  for (const Shape& shape : {Shape{1}, Shape{7}, Shape{3, 5}}) {
    expect_gradcheck([](const auto& in) { return ops::silu(in[0]); }, {random_leaf(shape, rng, -3, 3)});
    expect_gradcheck([](const auto& in) { return ops::softplus(in[0]); }, {random_leaf(shape, rng, -3, 3)});
    expect_gradcheck([](const auto& in) { return ops::sigmoid(in[0]); }, {random_leaf(shape, rng, -3, 3)});
    expect_gradcheck([](const auto& in) { return ops::exp(in[0]); }, {random_leaf(shape, rng)});
    expect_gradcheck([](const auto& in) { return ops::scale(in[0], 1.7); }, {random_leaf(shape, rng)});
    expect_gradcheck([](const auto& in) { return ops::add(in[0], in[1]); }, {random_leaf(shape, rng), random_leaf(shape, rng)});
    expect_gradcheck([](const auto& in) { return ops::mul(in[0], in[1]); }, {random_leaf(shape, rng), random_leaf(shape, rng)});
  }
  // Broadcast operands reduce their gradient over the leading axes.
  expect_gradcheck([](const auto& in) { return ops::add(in[0], in[1]); }, {random_leaf({2, 3, 5}, rng), random_leaf({5}, rng)});
  expect_gradcheck([](const auto& in) { return ops::mul(in[0], in[1]); }, {random_leaf({2, 3, 5}, rng), random_leaf({3, 5}, rng)});
  // softplus above its threshold is the identity, with gradient 1.
  expect_gradcheck([](const auto& in) { return ops::softplus(in[0]); }, {random_leaf({3}, rng, 21, 25)});
}

TEST(ReduceOps, ForwardValues) {
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64);
  expect_close(ops::sum(x), {21}, 0, 0);
  EXPECT_EQ(ops::sum(x).shape(), Shape{});
  expect_close(ops::mean(x), {3.5}, 0, 0);
  expect_close(ops::sum(x, 0), {5, 7, 9}, 0, 0);
  expect_close(ops::mean(x, -1), {2, 5}, 0, 0);
  EXPECT_EQ(ops::sum(x, 1, true).shape(), (Shape{2, 1}));
  EXPECT_THROW(ops::sum(x, 2), Error);
}

TEST(ReduceOps, Gradients) {
  Rng rng(2);
  expect_gradcheck([](const auto& in) { return ops::sum(in[0]); }, {random_leaf({3, 4}, rng)});
  expect_gradcheck([](const auto& in) { return ops::mean(in[0]); }, {random_leaf({7}, rng)});
  for (int64_t axis : {0, 1, 2, -1})
    expect_gradcheck([axis](const auto& in) { return ops::mean(in[0], axis); }, {random_leaf({2, 3, 5}, rng)});
  expect_gradcheck([](const auto& in) { return ops::sum(in[0], 1, true); }, {random_leaf({2, 1, 3}, rng)});
}

TEST(ShapeOps, TransposeSliceSplitConcatValues) {
  const Tensor x = Tensor::from_vector({0, 1, 2, 3, 4, 5}, {1, 2, 3}, DType::F64);
  const Tensor t = ops::transpose(x, 1, 2);
  EXPECT_EQ(t.shape(), (Shape{1, 3, 2}));
  expect_close(t, {0, 3, 1, 4, 2, 5}, 0, 0);
  expect_close(ops::slice(x, 2, 1, 3), {1, 2, 4, 5}, 0, 0);
  const auto parts = ops::split(x, -1, {1, 2});
  expect_close(parts[0], {0, 3}, 0, 0);
  expect_close(parts[1], {1, 2, 4, 5}, 0, 0);
  expect_close(ops::concat({parts[1], parts[0]}, 2), {1, 2, 0, 4, 5, 3}, 0, 0);
  EXPECT_EQ(ops::reshape(x, {3, 2}).shape(), (Shape{3, 2}));
  EXPECT_THROW(ops::split(x, 2, {1, 1}), Error);
  EXPECT_THROW(ops::slice(x, 1, 1, 3), Error);
  EXPECT_THROW(ops::reshape(x, {4}), Error);
}

TEST(ShapeOps, TransposeOfOuterAxes) {
  Rng rng(3);
  const Tensor x = random_tensor({2, 3, 4, 5}, rng);
  const Tensor t = ops::transpose(x, 0, 2);  // (4, 3, 2, 5)
  const auto xv = x.to_doubles(), tv = t.to_doubles();
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 4; ++c)
        for (int d = 0; d < 5; ++d) ASSERT_EQ(tv[((c * 3 + b) * 2 + a) * 5 + d], xv[((a * 3 + b) * 4 + c) * 5 + d]);
}

TEST(ShapeOps, Gradients) {
  Rng rng(4);
  expect_gradcheck([](const auto& in) { return ops::transpose(in[0], 0, 2); }, {random_leaf({2, 3, 4}, rng)});
  expect_gradcheck([](const auto& in) { return ops::slice(in[0], 1, 1, 4); }, {random_leaf({2, 5, 3}, rng)});
  expect_gradcheck([](const auto& in) { return ops::reshape(in[0], {6, 2}); }, {random_leaf({3, 4}, rng)});
  // Only some outputs of split are used: the others get zero gradient.
  expect_gradcheck([](const auto& in) { return ops::split(in[0], 1, {2, 3, 1})[1]; }, {random_leaf({2, 6}, rng)});
  expect_gradcheck([](const auto& in) {
    auto p = ops::split(in[0], 0, {1, 2});
    return ops::mul(p[1], ops::concat({p[0], p[0]}, 0));
  }, {random_leaf({3, 4}, rng)});
  expect_gradcheck([](const auto& in) { return ops::concat({in[0], in[1]}, -1); },
                   {random_leaf({2, 3}, rng), random_leaf({2, 1}, rng)});
}

// Brute-force (batch, m, n) product of op(a) and op(b).
std::vector<double> reference_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const auto av = a.to_doubles(), bv = b.to_doubles();
  const int64_t m = ta ? a.size(-1) : a.size(-2), k = ta ? a.size(-2) : a.size(-1);
  const bool shared = b.dim() == 2, shared_a = a.dim() == 2 && b.dim() == 3;
  const int64_t n = tb ? b.size(-2) : b.size(-1), batch = shared_a ? b.size(0) : a.numel() / (m * k);
  std::vector<double> out(batch * m * n, 0.0);
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < n; ++c)
        for (int64_t p = 0; p < k; ++p) {
          const double x = av[(shared_a ? 0 : i * m * k) + (ta ? p * m + r : r * k + p)];
          const double y = bv[(shared ? 0 : i * k * n) + (tb ? c * k + p : p * n + c)];
          out[(i * m + r) * n + c] += x * y;
        }
  return out;
}

struct MatmulCase {
  Shape a, b;
  bool ta, tb;
};

TEST(MatmulOp, ForwardAndGradients) {
  Rng rng(5);
  const std::vector<MatmulCase> cases = {
      {{1, 1}, {1, 1}, false, false}, {{3, 4}, {4, 5}, false, false}, {{4, 3}, {4, 5}, true, false},
      {{3, 4}, {5, 4}, false, true},  {{4, 3}, {5, 4}, true, true},   {{2, 3, 4}, {4, 5}, false, false},
      {{2, 3, 4}, {5, 4}, false, true}, {{2, 4, 3}, {4, 5}, true, false}, {{2, 3, 4}, {2, 4, 5}, false, false},
      {{2, 4, 3}, {2, 5, 4}, true, true}, {{2, 2, 3, 4}, {4, 1}, false, false},
      // a shared across b's batch
      {{3, 4}, {2, 4, 5}, false, false}, {{3, 4}, {3, 5, 4}, false, true}, {{4, 3}, {2, 4, 5}, true, false},
      {{4, 3}, {2, 5, 4}, true, true}};
  for (const auto& c : cases) {
    SCOPED_TRACE(shape_str(c.a) + " x " + shape_str(c.b) + (c.ta ? " ta" : "") + (c.tb ? " tb" : ""));
    const Tensor a = random_leaf(c.a, rng), b = random_leaf(c.b, rng);
    expect_close(ops::matmul(a, b, c.ta, c.tb), reference_matmul(a, b, c.ta, c.tb), 1e-14, 1e-14);
    clear_tape();
    expect_gradcheck([&c](const auto& in) { return ops::matmul(in[0], in[1], c.ta, c.tb); }, {a, b});
  }
}

TEST(MatmulOp, F32MatchesF64) {
  Rng rng(6);
  const Tensor a = random_tensor({37, 65}, rng), b = random_tensor({65, 29}, rng);
  expect_close(ops::matmul(a.to(DType::F32), b.to(DType::F32)), ops::matmul(a, b), 1e-5, 1e-5);
}

TEST(MatmulOp, ShapeErrorsNameTheShapes) {
  const Tensor a = Tensor::zeros({3, 4}, DType::F64), b = Tensor::zeros({5, 6}, DType::F64);
  try {
    ops::matmul(a, b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("matmul"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[3, 4]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[5, 6]"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace krait

namespace krait {
namespace {

TEST(CastOp, ConvertsAndSendsTheGradientBack) {
  const Tensor x = Tensor::from_vector({1.0 + 1e-9, -2.5}, {2}, DType::F64).set_requires_grad(true);
  EXPECT_TRUE(ops::cast(x, DType::F64).same_storage(x)) << "same dtype: no copy, no node";
  const Tensor y = ops::cast(x, DType::F32);
  EXPECT_EQ(y.dtype(), DType::F32);
  testing::expect_close(y, {1.0, -2.5}, 0, 0);
  backward(y, Tensor::from_vector({0.5, 3.0}, {2}, DType::F32));
  EXPECT_EQ(x.grad().dtype(), DType::F64);
  testing::expect_close(x.grad(), {0.5, 3.0}, 0, 0);
  EXPECT_THROW(ops::cast(Tensor::from_indices({1}, {1}), DType::F32), Error);
}

}  // namespace
}  // namespace krait
