// The CPU optimizer kernels against the textbook formulas, in double: the AdamW update (both
// branches of torch's lerp), the sum of squares and in-place scaling.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/adamw.h"

namespace krait::kernels::cpu {
namespace {

TEST(OptimKernels, AdamWStepMatchesFormula) {
  for (double beta1 : {0.9, 0.3}) {  // lerp weight 0.1 and 0.7 take different branches
    const AdamWHyper base{.lr = 0.05, .beta1 = beta1, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.2, .step = 0};
    std::vector<double> p = {0.5, -1.5, 2.0}, m(3, 0.0), v(3, 0.0);
    std::vector<double> rp = p, rm = m, rv = v;
    const std::vector<std::vector<double>> grads = {{0.1, -0.2, 3.0}, {-0.4, 0.0, 1.0}, {0.25, 0.5, -2.0}};
    for (int64_t t = 1; t <= 3; ++t) {
      AdamWHyper h = base;
      h.step = t;
      const std::vector<double>& g = grads[t - 1];
      adamw_step(p.data(), g.data(), m.data(), v.data(), 3, h);
      for (size_t i = 0; i < 3; ++i) {
        rp[i] -= h.lr * h.weight_decay * rp[i];
        rm[i] = h.beta1 * rm[i] + (1 - h.beta1) * g[i];
        rv[i] = h.beta2 * rv[i] + (1 - h.beta2) * g[i] * g[i];
        const double m_hat = rm[i] / (1 - std::pow(h.beta1, t));
        const double v_hat = rv[i] / (1 - std::pow(h.beta2, t));
        rp[i] -= h.lr * m_hat / (std::sqrt(v_hat) + h.eps);
        EXPECT_NEAR(p[i], rp[i], 1e-14) << "beta1 " << beta1 << " step " << t << " element " << i;
        EXPECT_NEAR(m[i], rm[i], 1e-15);
        EXPECT_NEAR(v[i], rv[i], 1e-15);
      }
    }
  }
}

TEST(OptimKernels, SumSquaresAccumulatesInDouble) {
  // 2^24 + 1 is not a float, but each square is taken and summed in double.
  const std::vector<float> x = {4096.0f, 1.0f};
  EXPECT_EQ(sum_squares(x.data(), 2), 16777217.0);
  const std::vector<double> y = {3.0, -4.0};
  EXPECT_EQ(sum_squares(y.data(), 2), 25.0);
}

TEST(OptimKernels, ScaleInPlace) {
  std::vector<float> x = {1.0f, -2.0f, 0.5f};
  scale_inplace(x.data(), 0.5f, 3);
  EXPECT_EQ(x, (std::vector<float>{0.5f, -1.0f, 0.25f}));
}

}  // namespace
}  // namespace krait::kernels::cpu
