// tests/support/gradcheck.h — helpers for op tests: random tensors, and the gradient check that
// compares an op's hand-written backward with central finite differences in float64.
#pragma once

#include <functional>
#include <vector>

#include "autograd/ops.h"
#include "common/rng.h"

namespace krait::testing {

Tensor random_tensor(const Shape& shape, Rng& rng, double lo = -1.0, double hi = 1.0, DType dtype = DType::F64);
// A random f64 tensor that requires grad: an input for gradient checks.
Tensor random_leaf(const Shape& shape, Rng& rng, double lo = -1.0, double hi = 1.0);

// Largest |analytic - numeric| over the gradient of each input, relative to the largest |numeric|.
struct GradcheckReport {
  std::vector<double> relative_error;  // one per input that requires grad
  double worst() const;
};

// f maps the inputs to one tensor. The check differentiates L = sum(f(inputs) * W) for a fixed random
// W, so every output element matters. Inputs must be f64 CPU tensors; those that require grad are
// checked against the five-point central difference with step eps * rms(input) (at least eps/100).
GradcheckReport gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                          uint64_t seed = 1, double eps = 3e-3);

// Asserts (GoogleTest) that every checked input's relative error is below tol.
void expect_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                      double tol = 1e-6, uint64_t seed = 1);

// Element-wise |a - b| <= atol + rtol * |b|, reporting the first mismatch.
void expect_close(const Tensor& actual, const Tensor& expected, double rtol, double atol);
void expect_close(const Tensor& actual, const std::vector<double>& expected, double rtol, double atol);

}  // namespace krait::testing
