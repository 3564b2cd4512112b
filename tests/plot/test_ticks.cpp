// tests/plot/test_ticks.cpp — axis ticks: 1-2-5 steps covering the range, zero-width ranges, log
// axes, and tick labels.
#include <gtest/gtest.h>

#include <cmath>

#include "common/rng.h"
#include "tools/plot/ticks.h"

namespace krait::plot {
namespace {

// Whether `step` is 1, 2 or 5 times a power of ten.
bool is_one_two_five(double step) {
  const double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
  return std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 || std::abs(mantissa - 5) < 1e-6;
}

// The ticks are evenly spaced by a 1-2-5 step, sit on multiples of it and cover [lo, hi].
void expect_nice_cover(const std::vector<double>& ticks, double lo, double hi) {
  ASSERT_GE(ticks.size(), 2u) << lo << ".." << hi;
  const double step = ticks[1] - ticks[0];
  const double slack = step * 1e-6;
  EXPECT_TRUE(is_one_two_five(step)) << step;
  for (size_t i = 0; i < ticks.size(); ++i) {
    EXPECT_NEAR(ticks[i], ticks[0] + step * static_cast<double>(i), slack);
    EXPECT_NEAR(ticks[i] / step, std::round(ticks[i] / step), 1e-6);
  }
  EXPECT_LE(ticks.front(), lo + slack);
  EXPECT_GE(ticks.back(), hi - slack);
}

TEST(Ticks, NiceTicksUseOneTwoFiveSteps) {
  EXPECT_EQ(nice_ticks(0, 10, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(nice_ticks(0, 1000, 8), (std::vector<double>{0, 200, 400, 600, 800, 1000}));
  const auto ticks = nice_ticks(2.13, 4.87, 6);
  ASSERT_EQ(ticks.size(), 7u);
  EXPECT_DOUBLE_EQ(ticks.front(), 2.0);
  EXPECT_DOUBLE_EQ(ticks.back(), 5.0);
}

TEST(Ticks, NiceTicksCoverRandomRanges) {
  Rng rng(7);
  for (int i = 0; i < 2000; ++i) {
    const double scale = std::pow(10.0, rng.uniform() * 16 - 8);
    const double a = (rng.uniform() * 2 - 1) * scale, b = (rng.uniform() * 2 - 1) * scale;
    const int target = 2 + i % 8;
    const auto ticks = nice_ticks(std::min(a, b), std::max(a, b), target);
    const double lo = std::min(a, b), hi = std::max(a, b), slack = (ticks[1] - ticks[0]) * 1e-6;
    expect_nice_cover(ticks, lo, hi);
    EXPECT_GT(ticks[1], lo - slack);                 // at most one tick below the range
    EXPECT_LT(ticks[ticks.size() - 2], hi + slack);  // and one above it
    EXPECT_LE(ticks.size(), static_cast<size_t>(target) + 3);
  }
}

TEST(Ticks, ZeroWidthRangesAreWidened) {
  for (double v : {0.0, 3.0, -2.5, 1e-7, 4e9}) {
    const auto ticks = nice_ticks(v, v, 5);
    expect_nice_cover(ticks, v, v);
    EXPECT_LT(ticks.front(), v);
    EXPECT_GT(ticks.back(), v);
  }
}

TEST(Ticks, LogTicksStepThroughDecades) {
  EXPECT_EQ(log_ticks(2, 50), (std::vector<double>{2, 5, 10, 20, 50}));
  EXPECT_EQ(log_ticks(3, 40), (std::vector<double>{2, 5, 10, 20, 50}));
  const auto decades = log_ticks(0.013, 95);
  ASSERT_EQ(decades.size(), 5u);
  for (size_t i = 0; i < decades.size(); ++i) EXPECT_DOUBLE_EQ(decades[i], std::pow(10.0, static_cast<double>(i) - 2));
  const auto many = log_ticks(1e-30, 1e30);
  EXPECT_LE(many.size(), 10u);
  EXPECT_LE(many.front(), 1e-30);
  EXPECT_GE(many.back(), 1e30);
}

TEST(Ticks, LogTicksWithinOneDecadeAreLinearAndPositive) {
  const auto ticks = log_ticks(2.2, 2.9);
  expect_nice_cover(ticks, 2.2, 2.9);
  const auto low = log_ticks(0.5, 4.5);  // linear ticks would start at 0
  ASSERT_FALSE(low.empty());
  for (double t : low) EXPECT_GT(t, 0);
  EXPECT_GE(low.back(), 4.5);
  const auto constant = log_ticks(3, 3);
  ASSERT_GE(constant.size(), 2u);
  EXPECT_GT(constant.front(), 0);
}

TEST(Ticks, LabelsShowTheDecimalsTheStepNeeds) {
  EXPECT_EQ(tick_labels({0, 0.5, 1, 1.5}, false), (std::vector<std::string>{"0", "0.5", "1.0", "1.5"}));
  EXPECT_EQ(tick_labels({0, 0.0002, 0.0004}, false), (std::vector<std::string>{"0", "0.0002", "0.0004"}));
  EXPECT_EQ(tick_labels({-200, 0, 200}, false), (std::vector<std::string>{"-200", "0", "200"}));
  EXPECT_EQ(tick_labels({0, 5000, 10000}, false), (std::vector<std::string>{"0", "5k", "10k"}));
  EXPECT_EQ(tick_labels({0, 600000, 1200000}, false), (std::vector<std::string>{"0", "0.6M", "1.2M"}));
  EXPECT_EQ(tick_labels({0, 2e-7, 4e-7}, false), (std::vector<std::string>{"0", "2e-07", "4e-07"}));
  EXPECT_EQ(tick_labels({0.02, 2.4000000000000004, 20000}, true), (std::vector<std::string>{"0.02", "2.4", "20k"}));
}

TEST(Ticks, WideLogAxesLabelPowersOfTen) {
  const auto decades = log_ticks(2e15, 3e19);  // five decades: powers of ten alone
  EXPECT_EQ(tick_labels(decades, true), (std::vector<std::string>{"10^15", "10^16", "10^17", "10^18", "10^19", "10^20"}));
  const auto minor = log_ticks(1.5e6, 4e7);  // two decades: 1-2-5 ticks, the 2s and 5s unlabelled
  EXPECT_EQ(minor, (std::vector<double>{1e6, 2e6, 5e6, 1e7, 2e7, 5e7}));
  EXPECT_EQ(tick_labels(minor, true), (std::vector<std::string>{"10^6", "", "", "10^7", "", ""}));
  const auto narrow = log_ticks(2.2e17, 7.7e17);  // within a decade: no power of ten to label
  EXPECT_EQ(tick_labels(narrow, true), (std::vector<std::string>{"2e17", "4e17", "6e17", "8e17"}));
  EXPECT_EQ(tick_labels({1e-5, 1e-4, 1e-3}, true), (std::vector<std::string>{"10^-5", "10^-4", "10^-3"}));
  EXPECT_EQ(power_of_ten_exponent("10^-4"), "-4");
  EXPECT_EQ(power_of_ten_exponent("100"), "");
}

}  // namespace
}  // namespace krait::plot
