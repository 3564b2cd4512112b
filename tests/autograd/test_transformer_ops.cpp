// The Transformer's rotary and swiglu ops on the CPU: rotary against the formula written out here
// (half-split pairs, angle t * theta^(-2i/Dh), value heads untouched), rotation preserving each pair's
// norm, swiglu against silu(a) * b composed from ops, float64 gradient checks at odd shapes, a
// backward that saves no input, f32 against f64, and errors that name the op and the tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
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

// The rotary embedding of qkv (B, L, 3 H Dh), straight from the definition, in double.
std::vector<double> rotary_reference(const std::vector<double>& x, int64_t B, int64_t L, int64_t H, int64_t Dh,
                                     double theta) {
  std::vector<double> y = x;
  const int64_t half = Dh / 2, width = 3 * H * Dh;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < L; ++t)
      for (int64_t head = 0; head < 2 * H; ++head)  // queries, then keys
        for (int64_t i = 0; i < half; ++i) {
          const double angle = double(t) * std::pow(theta, -2.0 * double(i) / double(Dh));
          const int64_t at = (b * L + t) * width + head * Dh + i;
          y[at] = x[at] * std::cos(angle) - x[at + half] * std::sin(angle);
          y[at + half] = x[at] * std::sin(angle) + x[at + half] * std::cos(angle);
        }
  return y;
}

TEST(Rotary, MatchesTheFormula) {
  Rng rng(1);
  for (const auto& [B, L, H, Dh, theta] :
       std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, double>>{
           {1, 1, 1, 2, 10000.0}, {2, 7, 3, 6, 10000.0}, {1, 33, 2, 16, 500.0}, {3, 5, 1, 10, 1e6}}) {
    const Tensor qkv = random_tensor({B, L, 3 * H * Dh}, rng);
    const Tensor y = ops::rotary(qkv, H, theta);
    EXPECT_EQ(y.shape(), qkv.shape());
    expect_close(y, rotary_reference(qkv.to_doubles(), B, L, H, Dh, theta), 1e-12, 1e-12);
  }
}

TEST(Rotary, PositionZeroAndValueHeadsPassThrough) {
  Rng rng(2);
  const int64_t H = 2, Dh = 4, width = 3 * H * Dh;
  const Tensor qkv = random_tensor({2, 3, width}, rng);
  const std::vector<double> x = qkv.to_doubles(), y = ops::rotary(qkv, H, 10000.0).to_doubles();
  for (int64_t row = 0; row < 6; ++row) {
    const bool t0 = row % 3 == 0;
    for (int64_t j = 0; j < width; ++j) {
      const bool value_head = j >= 2 * H * Dh;
      if (t0 || value_head) {
        EXPECT_EQ(y[row * width + j], x[row * width + j]) << "row " << row << " column " << j;
      }
    }
  }
}

TEST(Rotary, PreservesTheNormOfEveryPair) {
  Rng rng(3);
  const int64_t B = 2, L = 40, H = 3, Dh = 8, half = Dh / 2, width = 3 * H * Dh;
  const Tensor qkv = random_tensor({B, L, width}, rng);
  const std::vector<double> x = qkv.to_doubles(), y = ops::rotary(qkv, H, 10000.0).to_doubles();
  for (int64_t row = 0; row < B * L; ++row)
    for (int64_t head = 0; head < 3 * H; ++head)
      for (int64_t i = 0; i < half; ++i) {
        const int64_t at = row * width + head * Dh + i;
        EXPECT_NEAR(std::hypot(y[at], y[at + half]), std::hypot(x[at], x[at + half]), 1e-14);
      }
}

TEST(Rotary, RelativePositionsOnly) {
  // The point of rotary: q_t . k_s depends on t - s only. Shift q and k together by 5 positions.
  const int64_t H = 1, Dh = 8, width = 3 * H * Dh, L = 12;
  Rng rng(4);
  const std::vector<double> q = random_tensor({Dh}, rng).to_doubles(), k = random_tensor({Dh}, rng).to_doubles();
  std::vector<double> x(L * width, 0.0);
  for (int64_t t = 0; t < L; ++t)
    for (int64_t j = 0; j < Dh; ++j) {
      x[t * width + j] = q[j];
      x[t * width + Dh + j] = k[j];
    }
  const std::vector<double> y = ops::rotary(Tensor::from_vector(x, {1, L, width}, DType::F64), H, 10000.0).to_doubles();
  const auto dot = [&](int64_t t, int64_t s) {
    double d = 0;
    for (int64_t j = 0; j < Dh; ++j) d += y[t * width + j] * y[s * width + Dh + j];
    return d;
  };
  EXPECT_NEAR(dot(3, 1), dot(8, 6), 1e-12);
  EXPECT_NEAR(dot(6, 6), dot(0, 0), 1e-12);
}

TEST(Rotary, Float32FollowsFloat64) {
  Rng rng(5);
  const Tensor qkv = random_tensor({2, 50, 3 * 2 * 12}, rng);
  // Float computes the angle t * inv_freq in float: about 1e-5 of rounding at t = 49.
  expect_close(ops::rotary(qkv.to(DType::F32), 2, 10000.0), ops::rotary(qkv, 2, 10000.0).to_doubles(), 1e-4, 1e-4);
}

TEST(Rotary, Gradcheck) {
  Rng rng(6);
  for (const auto& [B, L, H, Dh] :
       std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>>{{1, 1, 1, 2}, {2, 5, 3, 6}, {3, 7, 2, 10}}) {
    expect_gradcheck([H](const std::vector<Tensor>& in) { return ops::rotary(in[0], H, 777.0); },
                     {random_leaf({B, L, 3 * H * Dh}, rng)}, 1e-8);
  }
}

TEST(Rotary, BackwardIsTheInverseRotation) {
  // The gradient of sum(rotary(x) * w) is w rotated back: rotating it forward again gives w.
  Rng rng(7);
  Tensor x = random_leaf({2, 9, 3 * 2 * 4}, rng);
  const Tensor w = random_tensor(x.shape(), rng);
  backward(ops::sum(ops::mul(ops::rotary(x, 2, 10000.0), w)));
  expect_close(ops::rotary(x.grad(), 2, 10000.0), w.to_doubles(), 1e-12, 1e-12);
}

TEST(Rotary, Errors) {
  Rng rng(8);
  const Tensor qkv = random_tensor({2, 3, 24}, rng);
  EXPECT_TRUE(mentions(error_text([&] { ops::rotary(random_tensor({3, 24}, rng), 2, 1e4); }), "rotary: qkv must be 3-D"));
  EXPECT_TRUE(mentions(error_text([&] { ops::rotary(qkv, 5, 1e4); }), "3 x n_head (5) heads"));
  EXPECT_TRUE(mentions(error_text([&] { ops::rotary(qkv, 0, 1e4); }), "n_head must be > 0"));
  // 24 = 3 x 8 heads of width 1: odd.
  const std::string odd = error_text([&] { ops::rotary(qkv, 8, 1e4); });
  EXPECT_TRUE(mentions(odd, "head width 1"));
  EXPECT_TRUE(mentions(odd, "f64[2, 3, 24]"));
  EXPECT_TRUE(mentions(error_text([&] { ops::rotary(qkv, 2, 0.0); }), "theta must be > 0"));
  const Tensor ids = Tensor::from_indices(std::vector<int64_t>(2 * 3 * 24, 1), {2, 3, 24});
  EXPECT_TRUE(mentions(error_text([&] { ops::rotary(ids, 2, 1e4); }), "rotary"));
}

// ---- swiglu ----

TEST(Swiglu, MatchesSiluTimesValue) {
  Rng rng(10);
  for (const Shape& shape : std::vector<Shape>{{2}, {3, 10}, {2, 5, 14}, {1, 1, 1, 6}}) {
    const Tensor x = random_tensor(shape, rng, -4, 4);
    const int64_t F = shape.back() / 2;
    const auto halves = ops::split(x, -1, {F, F});
    const Tensor y = ops::swiglu(x);
    Shape expected = shape;
    expected.back() = F;
    EXPECT_EQ(y.shape(), expected);
    expect_close(y, ops::mul(ops::silu(halves[0]), halves[1]).to_doubles(), 1e-14, 1e-15);
  }
}

TEST(Swiglu, Gradcheck) {
  Rng rng(11);
  for (const Shape& shape : std::vector<Shape>{{2}, {3, 10}, {2, 3, 14}}) {
    expect_gradcheck([](const std::vector<Tensor>& in) { return ops::swiglu(in[0]); }, {random_leaf(shape, rng, -3, 3)},
                     1e-8);
  }
}

TEST(Swiglu, GradientMatchesTheComposition) {
  Rng rng(12);
  Tensor x = random_leaf({3, 7, 18}, rng, -5, 5);
  const Tensor w = random_tensor({3, 7, 9}, rng);
  backward(ops::sum(ops::mul(ops::swiglu(x), w)));
  const std::vector<double> fused = x.grad().to_doubles();
  x.zero_grad();
  const auto halves = ops::split(x, -1, {9, 9});
  backward(ops::sum(ops::mul(ops::mul(ops::silu(halves[0]), halves[1]), w)));
  expect_close(x.grad(), fused, 1e-13, 1e-14);
}

TEST(Swiglu, Float32FollowsFloat64) {
  Rng rng(13);
  const Tensor x = random_tensor({4, 33, 22}, rng, -6, 6);
  expect_close(ops::swiglu(x.to(DType::F32)), ops::swiglu(x).to_doubles(), 1e-5, 1e-6);
}

TEST(Swiglu, Errors) {
  Rng rng(14);
  const std::string odd = error_text([&] { ops::swiglu(random_tensor({2, 7}, rng)); });
  EXPECT_TRUE(mentions(odd, "swiglu"));
  EXPECT_TRUE(mentions(odd, "f64[2, 7]"));
  EXPECT_TRUE(mentions(odd, "even"));
  EXPECT_TRUE(mentions(error_text([&] { ops::swiglu(Tensor::from_indices({1, 2}, {2})); }), "swiglu"));
}

}  // namespace
}  // namespace krait
