// ops::matmul_weight and matmul_weight_rows: the same values and gradients as matmul on the cast
// weight's row blocks, in every layout the layers use, a gradient check, and errors naming the op.
#include <gtest/gtest.h>

#include <string>

#include "autograd/ops.h"
#include "common/error.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {
using testing::random_leaf;

struct Case {
  Shape weight, x;
  bool weight_left, trans_weight, trans_x;
  std::vector<int64_t> rows;
};

// in_proj (weight left, x (B, L, d) transposed, two row blocks), out_proj (weight right, x transposed),
// Linear (weight right over a 3-D x), a 2-D x, and three uneven blocks.
const std::vector<Case> kCases = {
    {{6, 4}, {2, 5, 4}, true, false, true, {3, 3}},  {{4, 6}, {2, 6, 5}, false, true, true, {4}},
    {{3, 4}, {2, 5, 4}, false, true, false, {3}},    {{5, 4}, {4, 7}, true, false, false, {1, 3, 1}},
    {{4, 5}, {3, 4}, true, true, true, {4}},         {{7, 3}, {2, 3, 5}, true, false, false, {2, 5}},
};

TensorList reference(const Case& c, const Tensor& w, const Tensor& x) {
  TensorList out;
  const TensorList parts = c.rows.size() == 1 ? TensorList{w} : ops::split(w, 0, c.rows);
  for (const Tensor& p : parts)
    out.push_back(c.weight_left ? ops::matmul(p, x, c.trans_weight, c.trans_x) : ops::matmul(x, p, c.trans_x, c.trans_weight));
  return out;
}

// The outputs folded into one tensor (each block weighted differently), so one backward covers all.
Tensor fold(const TensorList& outs) {
  Tensor total;
  for (size_t i = 0; i < outs.size(); ++i) {
    const Tensor t = ops::sum(ops::scale(ops::mul(outs[i], outs[i]), 1.0 + double(i)));
    total = total.defined() ? ops::add(total, t) : t;
  }
  return total;
}

TEST(MatmulWeight, SameAsMatmulOnTheCastRowBlocks) {
  Rng rng(51);
  for (const Case& c : kCases) {
    SCOPED_TRACE("weight " + shape_str(c.weight) + " x " + shape_str(c.x) + (c.weight_left ? " left" : " right"));
    Tensor w = random_leaf(c.weight, rng), x = random_leaf(c.x, rng);
    const Tensor want_loss = fold(reference(c, w, x));
    backward(want_loss);
    const std::vector<double> want_gw = w.grad().to_doubles(), want_gx = x.grad().to_doubles();
    w.zero_grad(), x.zero_grad();
    const TensorList got = ops::matmul_weight_rows(w, c.rows, x, c.weight_left, c.trans_weight, c.trans_x);
    const TensorList want = reference(c, w.detach(), x.detach());
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) testing::expect_close(got[i], want[i], 1e-14, 1e-14);
    backward(fold(got));
    testing::expect_close(w.grad(), Tensor::from_vector(want_gw, c.weight, DType::F64), 1e-13, 1e-13);
    testing::expect_close(x.grad(), Tensor::from_vector(want_gx, c.x, DType::F64), 1e-13, 1e-13);
  }
}

TEST(MatmulWeight, Gradcheck) {
  Rng rng(52);
  for (const Case& c : kCases) {
    testing::expect_gradcheck(
        [&c](const std::vector<Tensor>& v) {
          return fold(ops::matmul_weight_rows(v[0], c.rows, v[1], c.weight_left, c.trans_weight, c.trans_x));
        },
        {random_leaf(c.weight, rng), random_leaf(c.x, rng)});
  }
  // The one-block form, with only the weight or only x needing a gradient.
  testing::expect_gradcheck([](const std::vector<Tensor>& v) { return ops::matmul_weight(v[0], v[1], false, true, false); },
                            {random_leaf({3, 4}, rng), testing::random_tensor({2, 5, 4}, rng)});
  testing::expect_gradcheck([](const std::vector<Tensor>& v) { return ops::matmul_weight(v[0], v[1], false, true, false); },
                            {testing::random_tensor({3, 4}, rng), random_leaf({2, 5, 4}, rng)});
}

TEST(MatmulWeight, ErrorsNameTheOp) {
  const Tensor w = Tensor::zeros({6, 4}, DType::F64), x = Tensor::zeros({2, 5, 4}, DType::F64);
  const auto expect_error = [](const auto& f, const std::string& part) {
    try {
      f();
      FAIL() << "expected an error with " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("matmul_weight"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error([&] { ops::matmul_weight_rows(w, {3, 2}, x, true, false, true); }, "sum to 5");
  expect_error([&] { ops::matmul_weight_rows(w, {6, 0}, x, true, false, true); }, "positive");
  expect_error([&] { ops::matmul_weight(Tensor::zeros({6}, DType::F64), x, true, false, true); }, "2-D");
  expect_error([&] { ops::matmul_weight(w, x, true, false, false); }, "inner dimensions");
}

}  // namespace
}  // namespace krait
