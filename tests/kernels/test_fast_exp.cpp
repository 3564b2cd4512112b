// fast_exp and fast_softplus against the standard library in double, over floats sampled at a
// fixed spacing across their whole range, at the edges of that range and at inf and NaN; and
// branchless_select.
#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/cpu/fast_math.h"

namespace krait::kernels::cpu {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// |got - want| in units in the last place of want rounded to float.
double ulps(float got, double want) {
  return std::fabs(got - want) / std::ldexp(1.0, std::ilogb(static_cast<float>(want)) - FLT_MANT_DIG + 1);
}

// Floats from lo to hi, `stride` representable floats apart (about 2 million over the whole float
// range), and hi.
std::vector<float> floats(float lo, float hi, int64_t stride = 997) {
  // In order of value, floats map to consecutive integers: x to ±(the bits of |x|).
  const auto index = [](float x) {
    const int64_t magnitude = std::bit_cast<uint32_t>(std::fabs(x));
    return std::signbit(x) ? -magnitude : magnitude;
  };
  const auto value = [](int64_t i) {
    const float magnitude = std::bit_cast<float>(static_cast<uint32_t>(i < 0 ? -i : i));
    return i < 0 ? -magnitude : magnitude;
  };
  std::vector<float> xs;
  for (int64_t i = index(lo); i < index(hi); i += stride) xs.push_back(value(i));
  xs.push_back(hi);
  return xs;
}

// f over xs in a plain loop, which the compiler may vectorize as it does the kernels' loops.
template <typename F> std::vector<float> map(const std::vector<float>& xs, F f) {
  std::vector<float> ys(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) ys[i] = f(xs[i]);
  return ys;
}

const float kLogMin = std::nextafter(std::log(FLT_MIN), 0.0f);  // the least x with e^x normal
const float kLogMax = std::nextafter(std::log(FLT_MAX), 0.0f);  // the greatest x with e^x finite

TEST(FastExp, Within2UlpWhereTheResultIsNormal) {
  const std::vector<float> xs = floats(kLogMin, kLogMax);
  const std::vector<float> ys = map(xs, [](float x) { return fast_exp(x); });
  for (size_t i = 0; i < xs.size(); ++i)
    ASSERT_LE(ulps(ys[i], std::exp(static_cast<double>(xs[i]))), 2.0) << "x = " << xs[i];
}

TEST(FastExp, Ends) {
  EXPECT_EQ(fast_exp(0.0f), 1.0f);
  EXPECT_EQ(fast_exp(-0.0f), 1.0f);
  EXPECT_GE(fast_exp(kLogMin), FLT_MIN);
  EXPECT_LE(fast_exp(kLogMax), FLT_MAX);
  for (float x : {std::nextafter(kLogMin, -kInf), -88.0f, -100.0f, -1e30f, -FLT_MAX, -kInf})
    EXPECT_EQ(fast_exp(x), 0.0f) << x;
  for (float x : {std::nextafter(kLogMax, kInf), 89.0f, 1e30f, FLT_MAX, kInf}) EXPECT_EQ(fast_exp(x), kInf) << x;
  EXPECT_TRUE(std::isnan(fast_exp(kNaN)));
  EXPECT_TRUE(std::isnan(fast_exp(-kNaN)));
}

TEST(FastSoftplus, Within4UlpWhereTheResultIsNormal) {
  const std::vector<float> xs = floats(kLogMin, FLT_MAX);
  const std::vector<float> ys = map(xs, [](float x) { return fast_softplus(x); });
  for (size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i], want = x > 100 ? x : std::log1p(std::exp(x));  // e^x overflows double at 710
    ASSERT_LE(ulps(ys[i], want), 4.0) << "x = " << xs[i];
  }
}

TEST(FastSoftplus, Ends) {
  EXPECT_EQ(fast_softplus(0.0f), std::log(2.0f));
  EXPECT_LE(fast_softplus(-100.0f), FLT_MIN);
  EXPECT_EQ(fast_softplus(-kInf), 0.0f);
  EXPECT_EQ(fast_softplus(kInf), kInf);
  EXPECT_EQ(fast_softplus(1e30f), 1e30f);
  EXPECT_TRUE(std::isnan(fast_softplus(kNaN)));
}

TEST(BranchlessSelect, PicksTheBitsOfOneSide) {
  EXPECT_EQ(branchless_select(true, 1.5f, -2.0f), 1.5f);
  EXPECT_EQ(branchless_select(false, 1.5f, -2.0f), -2.0f);
  EXPECT_EQ(branchless_select(true, 1.5, -2.0), 1.5);
  EXPECT_EQ(branchless_select(false, 1.5, -2.0), -2.0);
  EXPECT_TRUE(std::signbit(branchless_select(true, -0.0f, 0.0f)));
  EXPECT_TRUE(std::isnan(branchless_select(false, 0.0, std::numeric_limits<double>::quiet_NaN())));
}

}  // namespace
}  // namespace krait::kernels::cpu
