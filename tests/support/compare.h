// tests/support/compare.h — comparing a device run's gradients with the CPU reference's: the relative
// L2 error of each parameter's gradient, for mixed-precision tests where elementwise tolerances are
// too strict.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/parameter.h"

namespace krait::testing {

// ||got - want|| / ||want||.
inline double relative_l2(const std::vector<double>& got, const std::vector<double>& want) {
  double diff = 0, norm = 0;
  for (size_t k = 0; k < got.size() && k < want.size(); ++k) {
    diff += (got[k] - want[k]) * (got[k] - want[k]);
    norm += want[k] * want[k];
  }
  return std::sqrt(diff / norm);
}

// Every parameter of `got` has an f32 gradient within rtol (relative L2) of the same parameter's in
// `want` (same order and names).
inline void expect_gradients_close(const ParameterList& got, const ParameterList& want, double rtol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i].value.grad().defined()) << got[i].name;
    EXPECT_EQ(got[i].value.grad().dtype(), DType::F32) << got[i].name;
    EXPECT_LT(relative_l2(got[i].value.grad().to_doubles(), want[i].value.grad().to_doubles()), rtol) << want[i].name;
  }
}

}  // namespace krait::testing
