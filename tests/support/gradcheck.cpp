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
    double max_err = 0, max_numeric = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double keep = x[i];
      x[i] = keep + eps;
      const double plus = weighted_sum(f(inputs), wv);
      x[i] = keep - eps;
      const double minus = weighted_sum(f(inputs), wv);
      x[i] = keep;
      const double numeric = (plus - minus) / (2 * eps);
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
