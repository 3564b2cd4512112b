// ops::selective_scan_recomputing, the Mamba mixer's fused node: the same value and gradients as the
// plain composition of its ops, a gradient check through the recomputed part, nothing of that part on
// the tape, and an error for a parameter it reads without listing it.
#include <gtest/gtest.h>

#include <string>

#include "autograd/ops.h"
#include "common/error.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {
using testing::random_leaf;

constexpr int64_t kRank = 2, kState = 3;

// A small mixer interior: u = silu(conv(x)), (dt, B, C) = x_proj u, delta = dt_proj dt, A = -exp(A_log).
struct Interior {
  Parameter conv_w, conv_b, x_proj, dt_proj, dt_bias, A_log, D;

  ParameterList params() const { return {conv_w, conv_b, x_proj, dt_proj, dt_bias, A_log, D}; }

  ops::ScanInputs operator()(const TensorList& in) const {
    ops::ScanInputs s;
    s.u = ops::causal_conv1d(in[0], conv_w.value, conv_b.value, true);
    const TensorList dbc = ops::split(ops::matmul(x_proj.value, s.u), 1, {kRank, kState, kState});
    s.delta = ops::matmul(dt_proj.value, dbc[0]);
    s.B = dbc[1], s.C = dbc[2];
    s.A = ops::scale(ops::exp(A_log.value), -1.0);
    s.D_skip = D.value, s.z = in[1], s.delta_bias = dt_bias.value, s.delta_softplus = true;
    return s;
  }
};

Interior make_interior(int64_t dim, Rng& rng) {
  const auto param = [&](const char* name, const Shape& shape) { return Parameter{name, random_leaf(shape, rng), {}}; };
  return {param("conv_w", {dim, 4}), param("conv_b", {dim}), param("x_proj", {kRank + 2 * kState, dim}),
          param("dt_proj", {dim, kRank}), param("dt_bias", {dim}), param("A_log", {dim, kState}), param("D", {dim})};
}

std::vector<Tensor> leaves_of(const TensorList& inputs, const Interior& f) {
  std::vector<Tensor> all = inputs;
  for (const Parameter& p : f.params()) all.push_back(p.value);
  return all;
}

TEST(ScanRecomputing, SameValueAndGradientsAsThePlainComposition) {
  Rng rng(41);
  const Interior f = make_interior(5, rng);
  const TensorList inputs{random_leaf({2, 5, 13}, rng), random_leaf({2, 5, 13}, rng)};
  const Tensor weights = testing::random_tensor({2, 5, 13}, rng);
  const std::vector<Tensor> leaves = leaves_of(inputs, f);

  const Tensor plain = ops::sum(ops::mul(ops::selective_scan(f(inputs)), weights));
  backward(plain);
  std::vector<std::vector<double>> want;
  for (const Tensor& t : leaves) want.push_back(t.grad().to_doubles()), t.zero_grad();

  const Tensor fused = ops::sum(ops::mul(ops::selective_scan_recomputing(f, inputs, f.params()), weights));
  EXPECT_EQ(tape_size(), 3u);  // the fused node, mul and sum: nothing of the interior is recorded
  backward(fused);
  EXPECT_EQ(tape_size(), 0u);
  EXPECT_EQ(fused.item(), plain.item());
  for (size_t i = 0; i < leaves.size(); ++i)
    testing::expect_close(leaves[i].grad(), Tensor::from_vector(want[i], leaves[i].shape(), DType::F64), 1e-13, 1e-13);
}

TEST(ScanRecomputing, Gradcheck) {
  Rng rng(42);
  for (const int64_t len : {1, 6}) {
    SCOPED_TRACE("L = " + std::to_string(len));
    const Interior shapes = make_interior(3, rng);
    std::vector<Tensor> inputs{random_leaf({2, 3, len}, rng), random_leaf({2, 3, len}, rng)};
    for (const Parameter& p : shapes.params()) inputs.push_back(p.value);
    testing::expect_gradcheck(
        [](const std::vector<Tensor>& v) {
          const auto param = [&](size_t k) { return Parameter{"p" + std::to_string(k), v[k], {}}; };
          const Interior f{param(2), param(3), param(4), param(5), param(6), param(7), param(8)};
          return ops::selective_scan_recomputing(f, {v[0], v[1]}, f.params());
        },
        inputs, 1e-6);
  }
}

// Only the gate needs a gradient: the parameters still get theirs, x none.
TEST(ScanRecomputing, InputsThatNeedNoGradientGetNone) {
  Rng rng(43);
  const Interior f = make_interior(4, rng);
  const TensorList inputs{testing::random_tensor({1, 4, 9}, rng), random_leaf({1, 4, 9}, rng)};
  backward(ops::sum(ops::selective_scan_recomputing(f, inputs, f.params())));
  EXPECT_FALSE(inputs[0].grad().defined());
  EXPECT_TRUE(inputs[1].grad().defined());
  EXPECT_TRUE(f.x_proj.value.grad().defined());
}

TEST(ScanRecomputing, WithoutGradItIsThePlainScan) {
  Rng rng(44);
  const Interior f = make_interior(4, rng);
  const TensorList inputs{random_leaf({1, 4, 9}, rng), random_leaf({1, 4, 9}, rng)};
  NoGradGuard no_grad;
  const Tensor fused = ops::selective_scan_recomputing(f, inputs, f.params());
  EXPECT_EQ(tape_size(), 0u);
  EXPECT_EQ(fused.to_doubles(), ops::selective_scan(f(inputs)).to_doubles());
}

TEST(ScanRecomputing, UnlistedParameterIsAnError) {
  Rng rng(45);
  const Interior f = make_interior(4, rng);
  ParameterList listed = f.params();
  listed.erase(listed.begin() + 2);  // x_proj
  const TensorList inputs{random_leaf({1, 4, 9}, rng), random_leaf({1, 4, 9}, rng)};
  const Tensor y = ops::selective_scan_recomputing(f, inputs, listed);
  try {
    backward(ops::sum(y));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("selective_scan_recomputing"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("list every parameter"), std::string::npos) << e.what();
  }
  EXPECT_EQ(tape_size(), 0u);
  EXPECT_TRUE(grad_enabled());
}

}  // namespace
}  // namespace krait
