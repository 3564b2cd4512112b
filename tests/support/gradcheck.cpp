// tests/support/gradcheck.cpp — see gradcheck.h.
#include "tests/support/gradcheck.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace krait::testing {

Tensor random_tensor(const Shape& shape, Rng& rng, double lo, double hi, DType dtype) {
  std::vector<double> values(shape_numel(shape));
  for (double& v : values) v = rng.uniform(lo, hi);
  return Tensor::from_vector(values, shape, dtype);
}

Tensor random_leaf(const Shape& shape, Rng& rng, double lo, double hi) {
  return random_tensor(shape, rng, lo, hi).set_requires_grad(true);
}

double GradcheckReport::worst() const {
  return relative_error.empty() ? 0.0 : *std::max_element(relative_error.begin(), relative_error.end());
}

namespace {
double weighted_sum(const Tensor& out, const std::vector<double>& w) {
  const std::vector<double> v = out.to_doubles();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * w[i];
  return s;
}
}  // namespace

GradcheckReport gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                          uint64_t seed, double eps) {
  for (const Tensor& t : inputs) {
    if (t.requires_grad()) t.zero_grad();
    if (t.requires_grad() && t.dtype() != DType::F64) ADD_FAILURE() << "gradcheck needs f64 inputs";
  }
  Rng rng(seed);
  const Tensor out = f(inputs);
  const Tensor w = random_tensor(out.shape(), rng, -1.0, 1.0, out.dtype());
  backward(ops::sum(ops::mul(out, w)));
  const std::vector<double> wv = w.to_doubles();

  GradcheckReport report;
  NoGradGuard no_grad;
  for (const Tensor& t : inputs) {
    if (!t.requires_grad()) continue;
    const Tensor g = t.grad();
    std::vector<double> analytic = g.defined() ? g.to_doubles() : std::vector<double>(t.numel(), 0.0);
    double* x = t.data<double>();
    // The step follows the input's own scale (an embedding at 0.02 needs a finer one than a
    // weight near 1), and the five-point stencil's O(h^4) truncation error lets it stay large
    // enough that rounding in the loss does not swamp small gradients.
    double sq = 0;
    for (int64_t i = 0; i < t.numel(); ++i) sq += x[i] * x[i];
    const double h = eps * std::max(std::sqrt(sq / std::max<int64_t>(t.numel(), 1)), 1e-2);
    auto loss_at = [&](int64_t i, double value) {
      const double keep = x[i];
      x[i] = value;
      const double l = weighted_sum(f(inputs), wv);
      x[i] = keep;
      return l;
    };
    double max_err = 0, max_numeric = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double x0 = x[i];
      const double numeric = (8 * (loss_at(i, x0 + h) - loss_at(i, x0 - h)) - (loss_at(i, x0 + 2 * h) - loss_at(i, x0 - 2 * h))) / (12 * h);
      max_err = std::max(max_err, std::abs(numeric - analytic[i]));
      max_numeric = std::max(max_numeric, std::abs(numeric));
    }
    report.relative_error.push_back(max_err / std::max(max_numeric, 1e-12));
  }
  return report;
}

void expect_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                      double tol, uint64_t seed) {
  const GradcheckReport report = gradcheck(f, std::move(inputs), seed);
  EXPECT_FALSE(report.relative_error.empty()) << "no input requires grad: nothing was checked";
  for (size_t i = 0; i < report.relative_error.size(); ++i)
    EXPECT_LT(report.relative_error[i], tol) << "gradient of checked input #" << i;
}

void expect_close(const Tensor& actual, const std::vector<double>& expected, double rtol, double atol) {
  const std::vector<double> a = actual.to_doubles();
  ASSERT_EQ(a.size(), expected.size()) << actual.describe();
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(std::abs(a[i] - expected[i]) <= atol + rtol * std::abs(expected[i]))) {
      ADD_FAILURE() << "element " << i << " of " << actual.describe() << ": got " << a[i] << ", expected "
                    << expected[i];
      return;
    }
  }
}

void expect_close(const Tensor& actual, const Tensor& expected, double rtol, double atol) {
  EXPECT_EQ(actual.shape(), expected.shape());
  expect_close(actual, expected.to_doubles(), rtol, atol);
}

}  // namespace krait::testing
