// Gradient clipping: the global norm of known gradients, scaling only above max_norm, the clipped
// norm equal to max_norm, and non-finite norms left to the caller.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "autograd/parameter.h"
#include "common/error.h"
#include "optim/clip.h"

namespace krait {
namespace {

Parameter param_with_grad(const std::string& name, const std::vector<double>& grad, DType dtype) {
  const Shape shape{static_cast<int64_t>(grad.size())};
  Tensor t = Tensor::zeros(shape, dtype);
  t.set_requires_grad(true);
  if (!grad.empty()) t.set_grad(Tensor::from_vector(grad, shape, dtype));
  return {name, t, {}};
}

// Gradients [3, 4] (f32) and [12] (f64): norm sqrt(9 + 16 + 144) = 13; "c" has no gradient.
ParameterList known_grads() {
  return {param_with_grad("a", {3.0, 4.0}, DType::F32), param_with_grad("b", {12.0}, DType::F64),
          param_with_grad("c", {}, DType::F32)};
}

TEST(Clip, GlobalNormOfKnownGradients) {
  EXPECT_DOUBLE_EQ(global_grad_norm(known_grads()), 13.0);
  EXPECT_EQ(global_grad_norm({}), 0.0);
}

TEST(Clip, BelowMaxNormLeavesGradientsAlone) {
  const ParameterList params = known_grads();
  EXPECT_DOUBLE_EQ(clip_grad_norm(params, 20.0), 13.0);
  EXPECT_EQ(params[0].value.grad().to_doubles(), (std::vector<double>{3.0, 4.0}));
  EXPECT_EQ(params[1].value.grad().to_doubles(), (std::vector<double>{12.0}));
  EXPECT_FALSE(params[2].value.grad().defined());
}

TEST(Clip, AboveMaxNormScalesToMaxNorm) {
  const ParameterList params = known_grads();
  EXPECT_DOUBLE_EQ(clip_grad_norm(params, 6.5), 13.0);
  const double coef = 6.5 / (13.0 + 1e-6);
  EXPECT_NEAR(params[0].value.grad().to_doubles()[1], 4.0 * coef, 1e-6);
  EXPECT_DOUBLE_EQ(params[1].value.grad().item(), 12.0 * coef);
  EXPECT_NEAR(global_grad_norm(params), 6.5, 1e-6);
}

TEST(Clip, NonFiniteNormIsReturnedAndGradientsKept) {
  const ParameterList params = {param_with_grad("a", {1.0, std::numeric_limits<double>::infinity()}, DType::F32)};
  EXPECT_TRUE(std::isinf(clip_grad_norm(params, 1.0)));
  EXPECT_EQ(params[0].value.grad().to_doubles()[0], 1.0);
  const ParameterList nan_params = {param_with_grad("n", {std::nan("")}, DType::F64)};
  EXPECT_TRUE(std::isnan(clip_grad_norm(nan_params, 1.0)));
}

TEST(Clip, ErrorsNameTheParameter) {
  EXPECT_THROW(clip_grad_norm(known_grads(), 0.0), Error);
  const ParameterList half = {param_with_grad("layers.1.norm.weight", {1.0}, DType::BF16)};
  try {
    global_grad_norm(half);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'layers.1.norm.weight'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace krait
