// ops::pool_sequence on the CPU: forward values worked out by hand, float64 gradient checks for both
// modes with and without lengths (including L = 1 and B = 1), f32 against f64, and errors that name the
// op, the tensors and the bad length.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "autograd/ops.h"
#include "common/error.h"
#include "tests/support/error_text.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {
using testing::error_text;
using testing::expect_close;
using testing::expect_gradcheck;
using testing::mentions;
using testing::random_leaf;
using testing::random_tensor;

Tensor lengths_of(const std::vector<int64_t>& values) {
  return Tensor::from_indices(values, {int64_t(values.size())}, DType::I32);
}

TEST(PoolSequence, ForwardByHand) {
  // x (2, 3, 2): row 0 = (1, 2), (3, 4), (5, 6); row 1 = (-1, 0), (7, 8), (2, -4).
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6, -1, 0, 7, 8, 2, -4}, {2, 3, 2}, DType::F64);
  const Tensor lengths = lengths_of({2, 3});
  // Mean over the first 2 positions of row 0: (2, 3); over all 3 of row 1: (8/3, 4/3).
  expect_close(ops::pool_sequence(x, lengths, ops::PoolMode::Mean), {2, 3, 8.0 / 3, 4.0 / 3}, 1e-15, 0);
  expect_close(ops::pool_sequence(x, lengths, ops::PoolMode::Last), {3, 4, 2, -4}, 0, 0);
  // No lengths: every row is whole.
  expect_close(ops::pool_sequence(x, Tensor(), ops::PoolMode::Mean), {3, 4, 8.0 / 3, 4.0 / 3}, 1e-15, 0);
  expect_close(ops::pool_sequence(x, Tensor(), ops::PoolMode::Last), {5, 6, 2, -4}, 0, 0);
  // Length 1 takes the first position either way.
  const Tensor ones = lengths_of({1, 1});
  expect_close(ops::pool_sequence(x, ones, ops::PoolMode::Mean), {1, 2, -1, 0}, 0, 0);
  expect_close(ops::pool_sequence(x, ones, ops::PoolMode::Last), {1, 2, -1, 0}, 0, 0);
  EXPECT_EQ(ops::pool_sequence(x, lengths, ops::PoolMode::Mean).shape(), (Shape{2, 2}));
}

TEST(PoolSequence, BackwardByHand) {
  // Mean over 2 of 3 positions: g / 2 at t < 2, 0 at t = 2; Last with length 2: g at t = 1 only.
  for (const auto mode : {ops::PoolMode::Mean, ops::PoolMode::Last}) {
    Tensor x = Tensor::zeros({1, 3, 2}, DType::F64).set_requires_grad(true);
    backward(ops::pool_sequence(x, lengths_of({2}), mode), Tensor::from_vector({4, -6}, {1, 2}, DType::F64));
    if (mode == ops::PoolMode::Mean) expect_close(x.grad(), {2, -3, 2, -3, 0, 0}, 0, 0);
    else expect_close(x.grad(), {0, 0, 4, -6, 0, 0}, 0, 0);
  }
}

TEST(PoolSequence, Gradcheck) {
  Rng rng(31);
  struct Case {
    Shape shape;
    std::vector<int64_t> lengths;  // empty: no lengths tensor
  };
  for (const Case& c : {Case{{3, 5, 4}, {5, 1, 3}}, Case{{3, 5, 4}, {}}, Case{{2, 1, 3}, {1, 1}}, Case{{2, 1, 3}, {}},
                        Case{{1, 4, 2}, {2}}, Case{{1, 4, 2}, {}}, Case{{1, 1, 1}, {1}}, Case{{4, 7, 1}, {7, 2, 1, 6}}}) {
    const Tensor lengths = c.lengths.empty() ? Tensor() : lengths_of(c.lengths);
    for (const auto mode : {ops::PoolMode::Mean, ops::PoolMode::Last}) {
      SCOPED_TRACE(shape_str(c.shape) + (c.lengths.empty() ? " without lengths" : " with lengths") +
                   (mode == ops::PoolMode::Mean ? ", mean" : ", last"));
      expect_gradcheck([&](const std::vector<Tensor>& in) { return ops::pool_sequence(in[0], lengths, mode); },
                       {random_leaf(c.shape, rng)});
    }
  }
}

TEST(PoolSequence, F32MatchesF64) {
  Rng rng(32);
  const Tensor x = random_tensor({3, 257, 33}, rng);
  const Tensor lengths = lengths_of({257, 1, 100});
  for (const auto mode : {ops::PoolMode::Mean, ops::PoolMode::Last})
    expect_close(ops::pool_sequence(x.to(DType::F32), lengths, mode), ops::pool_sequence(x, lengths, mode), 1e-5,
                 1e-6);
}

TEST(PoolSequence, GradientDoesNotDependOnX) {
  // The backward saves only the lengths, not x: a zero x and a random x get the same gradient.
  Rng rng(33);
  const Tensor g = random_tensor({2, 3}, rng);
  std::vector<double> grads[2];
  for (int k = 0; k < 2; ++k) {
    Tensor x = (k == 0 ? Tensor::zeros({2, 4, 3}, DType::F64) : random_tensor({2, 4, 3}, rng)).set_requires_grad(true);
    backward(ops::pool_sequence(x, lengths_of({3, 4}), ops::PoolMode::Mean), g);
    grads[k] = x.grad().to_doubles();
  }
  EXPECT_EQ(grads[0], grads[1]);
}

TEST(PoolSequence, Errors) {
  const Tensor x = Tensor::zeros({2, 3, 4}, DType::F64);
  const auto mean = ops::PoolMode::Mean;
  std::string e = error_text([&] { ops::pool_sequence(x, lengths_of({3, 0}), mean); });
  EXPECT_TRUE(mentions(e, "pool_sequence: lengths[1] = 0 is outside [1, 3]"));
  EXPECT_TRUE(mentions(e, "f64[2, 3, 4]"));
  e = error_text([&] { ops::pool_sequence(x, lengths_of({4, 1}), ops::PoolMode::Last); });
  EXPECT_TRUE(mentions(e, "pool_sequence: lengths[0] = 4 is outside [1, 3]"));
  e = error_text([&] { ops::pool_sequence(x, lengths_of({3, -2}), mean); });
  EXPECT_TRUE(mentions(e, "lengths[1] = -2"));
  // lengths: dtype, shape.
  e = error_text([&] { ops::pool_sequence(x, Tensor::from_indices({1, 2}, {2}, DType::I64), mean); });
  EXPECT_TRUE(mentions(e, "pool_sequence: lengths must be i32[2]"));
  EXPECT_TRUE(mentions(e, "i64[2]"));
  e = error_text([&] { ops::pool_sequence(x, lengths_of({1, 2, 3}), mean); });
  EXPECT_TRUE(mentions(e, "lengths must be i32[2]"));
  EXPECT_TRUE(mentions(e, "i32[3]"));
  // x: rank, dtype, L = 0, undefined.
  e = error_text([&] { ops::pool_sequence(Tensor::zeros({2, 3}, DType::F64), Tensor(), mean); });
  EXPECT_TRUE(mentions(e, "pool_sequence: x must be 3-D (B, L, D), got f64[2, 3]"));
  e = error_text([&] { ops::pool_sequence(Tensor::zeros({2, 3, 4}, DType::I32), Tensor(), mean); });
  EXPECT_TRUE(mentions(e, "pool_sequence"));
  EXPECT_TRUE(mentions(e, "i32[2, 3, 4]"));
  e = error_text([&] { ops::pool_sequence(Tensor::zeros({2, 3, 4}, DType::BF16), Tensor(), mean); });
  EXPECT_TRUE(mentions(e, "pool_sequence: on the CPU x must be f32 or f64, got bf16[2, 3, 4]"));
  e = error_text([&] { ops::pool_sequence(Tensor::zeros({2, 0, 4}, DType::F64), lengths_of({1, 1}), mean); });
  EXPECT_TRUE(mentions(e, "pool_sequence: x f64[2, 0, 4] on cpu has no positions"));
  e = error_text([&] { ops::pool_sequence(Tensor(), Tensor(), mean); });
  EXPECT_TRUE(mentions(e, "pool_sequence: x is undefined"));
}

}  // namespace
}  // namespace krait
