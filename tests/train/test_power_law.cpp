// tests/train/test_power_law.cpp — power-law fits: synthetic points from known laws (with and
// without an offset, noiseless and with small deterministic noise) give back their coefficients,
// standard errors shrink with more points and less noise, and degenerate inputs name the problem.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/error_text.h"
#include "train/power_law.h"

namespace krait::train {
namespace {

using testing::error_text;
using testing::mentions;

struct Points {
  std::vector<double> compute, loss;
};

// n points of L = e + a C^-b at C from 1e15 to 1e20 (evenly in log), each loss times
// exp(noise * sin(7.3 i)): a deterministic, zero-centred wobble.
Points law(double e, double a, double b, int n, double noise) {
  Points p;
  for (int i = 0; i < n; ++i) {
    const double c = std::pow(10.0, 15 + 5.0 * i / (n - 1));
    p.compute.push_back(c);
    p.loss.push_back((e + a * std::pow(c, -b)) * std::exp(noise * std::sin(7.3 * i)));
  }
  return p;
}

TEST(PowerLaw, NoiselessPointsGiveBackTheLaw) {
  const Points p = law(0, 12.3, 0.051, 6, 0);
  const PowerLawFit fit = fit_power_law(p.compute, p.loss);
  EXPECT_NEAR(fit.a, 12.3, 12.3 * 1e-9);
  EXPECT_NEAR(fit.b, 0.051, 1e-11);
  EXPECT_LT(fit.a_se, 1e-8);
  EXPECT_LT(fit.b_se, 1e-11);
  EXPECT_NEAR(fit.r2, 1, 1e-12);
  EXPECT_EQ(fit.points, 6);
  EXPECT_FALSE(fit.has_offset);
  EXPECT_NEAR(fit(1e17), 12.3 * std::pow(1e17, -0.051), 1e-9);
}

TEST(PowerLaw, NoisyPointsGiveBackTheLawWithinTheirErrors) {
  const PowerLawFit fit = fit_power_law(law(0, 12.3, 0.051, 12, 0.01).compute, law(0, 12.3, 0.051, 12, 0.01).loss);
  EXPECT_NEAR(fit.b, 0.051, 3 * fit.b_se);
  EXPECT_NEAR(fit.a, 12.3, 3 * fit.a_se);
  EXPECT_GT(fit.b_se, 0);
  EXPECT_LT(fit.b_se, 0.003);
  EXPECT_GT(fit.r2, 0.9);
  EXPECT_LT(fit.r2, 1);
}

TEST(PowerLaw, StandardErrorsShrinkWithMorePointsAndLessNoise) {
  auto fit = [](int n, double noise) {
    const Points p = law(0, 12.3, 0.051, n, noise);
    return fit_power_law(p.compute, p.loss);
  };
  const PowerLawFit base = fit(8, 0.01), more = fit(64, 0.01), quieter = fit(8, 0.001);
  EXPECT_LT(more.b_se, base.b_se / 2);
  EXPECT_LT(more.a_se, base.a_se / 2);
  EXPECT_NEAR(quieter.b_se, base.b_se / 10, base.b_se * 0.02);  // the noise scales the residuals
  EXPECT_LT(quieter.a_se, base.a_se / 5);
}

TEST(PowerLaw, OffsetFitGivesBackANoiselessLaw) {
  const Points p = law(1.7, 400, 0.1, 8, 0);
  const PowerLawFit fit = fit_power_law_offset(p.compute, p.loss);
  EXPECT_TRUE(fit.has_offset);
  EXPECT_NEAR(fit.e, 1.7, 1e-6);
  EXPECT_NEAR(fit.a, 400, 400 * 1e-5);
  EXPECT_NEAR(fit.b, 0.1, 1e-7);
  EXPECT_LT(fit.e_se, 1e-5);
  EXPECT_NEAR(fit.r2, 1, 1e-10);
  EXPECT_GT(fit.iterations, 0);
}

TEST(PowerLaw, OffsetFitOfNoisyPointsAndItsErrors) {
  auto fit = [](int n, double noise) {
    const Points p = law(1.7, 400, 0.1, n, noise);
    return fit_power_law_offset(p.compute, p.loss);
  };
  const PowerLawFit base = fit(10, 0.002), more = fit(80, 0.002), quieter = fit(10, 0.0002);
  EXPECT_NEAR(base.e, 1.7, std::max(3 * base.e_se, 0.05));
  EXPECT_NEAR(base.b, 0.1, std::max(3 * base.b_se, 0.005));
  EXPECT_NEAR(more.e, 1.7, 0.05);
  EXPECT_NEAR(quieter.b, 0.1, 0.002);
  for (const PowerLawFit* f : {&more, &quieter}) {
    EXPECT_LT(f->e_se, base.e_se / 2);
    EXPECT_LT(f->b_se, base.b_se / 2);
    EXPECT_LT(f->a_se, base.a_se / 2);
  }
}

TEST(PowerLaw, DegenerateInputsNameTheProblem) {
  const Points p = law(0, 12.3, 0.051, 6, 0);
  EXPECT_TRUE(mentions(error_text([&] { fit_power_law({1e15, 1e16}, {3, 2}); }), "2 points for 2 parameters; needs at least 3"));
  EXPECT_TRUE(mentions(error_text([&] { fit_power_law_offset({1e15, 1e16, 1e17}, {3, 2, 1.5}); }),
                       "3 points for 3 parameters; needs at least 4"));
  EXPECT_TRUE(mentions(error_text([&] { fit_power_law(p.compute, {1, 2}); }), "6 compute values but 2 losses"));
  EXPECT_TRUE(mentions(error_text([&] { fit_power_law({1e15, 1e16, 1e17}, {3, 0, 1}); }),
                       "point 1 (compute 1e+16, loss 0) is not positive and finite"));
  EXPECT_TRUE(mentions(error_text([&] { fit_power_law({1e15, 1e16, NAN}, {3, 2, 1}); }), "point 2"));
  EXPECT_TRUE(mentions(error_text([&] { fit_power_law({1e18, 1e18, 1e18}, {3, 2, 1}); }),
                       "all 3 points have the same compute (1e+18)"));
}

TEST(PowerLaw, OffsetFitFailsClearlyWhenThereIsNoOffset) {
  const Points plain = law(0, 12.3, 0.051, 6, 0);  // e runs to 0
  EXPECT_TRUE(mentions(error_text([&] { fit_power_law_offset(plain.compute, plain.loss); }),
                       "J^T J is singular at the solution"));
  EXPECT_TRUE(mentions(error_text([] { fit_power_law_offset({1e15, 1e16, 1e17, 1e18, 1e19}, {2, 2.5, 3, 4, 6}); }),
                       "not positive: the loss does not fall"));
}

TEST(PowerLaw, FormatsTheLaw) {
  PowerLawFit fit;
  fit.a = 12.3, fit.a_se = 0.4, fit.b = 0.051, fit.b_se = 0.002, fit.r2 = 0.998, fit.points = 6;
  EXPECT_EQ(format_power_law("mamba", fit), "mamba: L = 12.3 (+-0.4) * C^-0.051 (+-0.002), R^2 0.9980, 6 runs");
  fit.has_offset = true, fit.e = 1.69, fit.e_se = 0.02;
  EXPECT_EQ(format_power_law("mamba", fit, "N"),
            "mamba: L = 1.69 (+-0.02) + 12.3 (+-0.4) * N^-0.051 (+-0.002), R^2 0.9980, 6 runs");
  fit.has_offset = false, fit.e = 0, fit.b = -0.2;
  EXPECT_TRUE(mentions(format_power_law("rising", fit), "* C^+0.2 (+-0.002)"));
}

}  // namespace
}  // namespace krait::train
