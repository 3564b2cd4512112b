// ops::selective_scan: the forward against a brute-force reference that materializes the full
// (B, D, L, N) state, a hand-worked value and gradient, gradient checks of the hand-derived backward
// at awkward sizes, f32 against f64, and shape errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "autograd/ops.h"
#include "common/error.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {
using testing::expect_close;
using testing::random_tensor;

// Which optional parts a test case uses.
struct Config {
  bool B_variable = true, C_variable = true;
  bool z = true, D_skip = true, delta_bias = true, softplus = true;
};

std::string config_name(const Config& c) {
  std::string s = std::string("B") + (c.B_variable ? "var" : "const") + "_C" + (c.C_variable ? "var" : "const");
  if (c.z) s += "_z";
  if (c.D_skip) s += "_D";
  if (c.delta_bias) s += "_bias";
  if (c.softplus) s += "_softplus";
  return s;
}

ops::ScanInputs make_inputs(const Config& c, int64_t batch, int64_t dim, int64_t len, int64_t state, Rng& rng) {
  ops::ScanInputs in;
  in.u = random_tensor({batch, dim, len}, rng);
  // Without softplus delta is used as is, so keep it positive as a real step size would be.
  in.delta = c.softplus ? random_tensor({batch, dim, len}, rng) : random_tensor({batch, dim, len}, rng, 0.05, 1.0);
  in.A = random_tensor({dim, state}, rng, -1.5, -0.1);
  in.B = c.B_variable ? random_tensor({batch, state, len}, rng) : random_tensor({dim, state}, rng);
  in.C = c.C_variable ? random_tensor({batch, state, len}, rng) : random_tensor({dim, state}, rng);
  if (c.D_skip) in.D_skip = random_tensor({dim}, rng);
  if (c.z) in.z = random_tensor({batch, dim, len}, rng);
  if (c.delta_bias) in.delta_bias = random_tensor({dim}, rng, 0.0, 0.5);
  in.delta_softplus = c.softplus;
  return in;
}

std::vector<Tensor> as_list(const ops::ScanInputs& in) {
  return {in.u, in.delta, in.A, in.B, in.C, in.D_skip, in.z, in.delta_bias};
}

ops::ScanInputs from_list(const std::vector<Tensor>& v, bool softplus) {
  return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], softplus};
}

// The scan written out directly in f64, materializing every state x[b, d, t, n].
std::vector<double> reference_scan(const ops::ScanInputs& in) {
  const auto values = [](const Tensor& t) { return t.defined() ? t.to_doubles() : std::vector<double>(); };
  const std::vector<double> u = values(in.u), delta = values(in.delta), A = values(in.A), B = values(in.B),
                            C = values(in.C), Dk = values(in.D_skip), z = values(in.z), bias = values(in.delta_bias);
  const int64_t nb = in.u.size(0), nd = in.u.size(1), nl = in.u.size(2), nn = in.A.size(1);
  const auto at = [&](const std::vector<double>& m, bool variable, int64_t b, int64_t d, int64_t t, int64_t n) {
    return variable ? m[(b * nn + n) * nl + t] : m[d * nn + n];
  };
  std::vector<double> x(nb * nd * nl * nn), out(nb * nd * nl);
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t d = 0; d < nd; ++d)
      for (int64_t t = 0; t < nl; ++t) {
        const int64_t i = (b * nd + d) * nl + t;
        double dt = delta[i] + (bias.empty() ? 0.0 : bias[d]);
        if (in.delta_softplus && dt <= 20.0) dt = std::log(1.0 + std::exp(dt));
        double y = Dk.empty() ? 0.0 : Dk[d] * u[i];
        for (int64_t n = 0; n < nn; ++n) {
          const double prev = t > 0 ? x[(i - 1) * nn + n] : 0.0;
          x[i * nn + n] = std::exp(dt * A[d * nn + n]) * prev + dt * at(B, in.B.dim() == 3, b, d, t, n) * u[i];
          y += at(C, in.C.dim() == 3, b, d, t, n) * x[i * nn + n];
        }
        out[i] = z.empty() ? y : y * z[i] / (1.0 + std::exp(-z[i]));
      }
  return out;
}

TEST(SelectiveScan, ForwardMatchesBruteForceForEveryConfiguration) {
  for (int mask = 0; mask < 64; ++mask) {
    const Config c{bool(mask & 1), bool(mask & 2), bool(mask & 4), bool(mask & 8), bool(mask & 16), bool(mask & 32)};
    SCOPED_TRACE(config_name(c));
    Rng rng(100 + mask);
    const ops::ScanInputs in = make_inputs(c, 2, 3, 6, 4, rng);
    expect_close(ops::selective_scan(in), reference_scan(in), 1e-12, 1e-12);
  }
}

TEST(SelectiveScan, SoftplusIsLinearAboveThreshold) {
  Rng rng(7);
  ops::ScanInputs in = make_inputs(Config{}, 2, 3, 5, 2, rng);
  in.delta = random_tensor({2, 3, 5}, rng, 17.0, 23.0);  // delta' straddles 20
  in.A = random_tensor({3, 2}, rng, -0.2, -0.05);        // so that exp(delta' A) stays visible
  expect_close(ops::selective_scan(in), reference_scan(in), 1e-12, 1e-12);
  for (Tensor t : as_list(in))  // copies share the tensor, and with it the autograd state
    if (t.defined()) t.set_requires_grad(true);
  const bool softplus = in.delta_softplus;
  testing::expect_gradcheck([softplus](const std::vector<Tensor>& v) { return ops::selective_scan(from_list(v, softplus)); },
                            as_list(in));
}

TEST(SelectiveScan, HandComputedValueAndGradient) {
  // B = D = N = 1, L = 2; u = [1, 2], delta = [0.5, 1], A = -1, B = 2, C = 3, D = 0.5 (B, C constant):
  //   x_0 = 0.5 * 2 * 1 = 1,                        y_0 = 3 * 1 + 0.5 * 1 = 3.5
  //   x_1 = e^-1 * 1 + 1 * 2 * 2 = 4.36787944117..., y_1 = 3 * x_1 + 0.5 * 2 = 14.10363832351...
  // With z = [0, 1]: out = [3.5 * silu(0), y_1 * sigmoid(1)] = [0, 10.31058578630...].
  // d y_1 / d A = C * x_0 * delta_1 * e^(delta_1 A) = 3 e^-1 = 1.10363832351...
  ops::ScanInputs in;
  in.u = Tensor::from_vector({1, 2}, {1, 1, 2}, DType::F64);
  in.delta = Tensor::from_vector({0.5, 1}, {1, 1, 2}, DType::F64);
  in.A = Tensor::from_vector({-1}, {1, 1}, DType::F64).set_requires_grad(true);
  in.B = Tensor::from_vector({2}, {1, 1}, DType::F64);
  in.C = Tensor::from_vector({3}, {1, 1}, DType::F64);
  in.D_skip = Tensor::from_vector({0.5}, {1}, DType::F64);
  const Tensor y = ops::selective_scan(in);
  expect_close(y, std::vector<double>{3.5, 14.103638323514328}, 1e-15, 0);
  backward(y, Tensor::from_vector({0, 1}, {1, 1, 2}, DType::F64));
  expect_close(in.A.grad(), std::vector<double>{1.103638323514327}, 1e-15, 0);

  in.z = Tensor::from_vector({0, 1}, {1, 1, 2}, DType::F64);
  NoGradGuard no_grad;
  expect_close(ops::selective_scan(in), std::vector<double>{0, 10.31058578630005}, 1e-15, 0);
}

// Gradient checks in float64 of every input, at awkward sizes (batch 2, D = 3).
struct GradCase {
  int64_t len, state;
  Config config;
};

class SelectiveScanGradcheck : public ::testing::TestWithParam<GradCase> {};

TEST_P(SelectiveScanGradcheck, AllInputs) {
  const GradCase& p = GetParam();
  Rng rng(p.len * 10 + p.state);
  const ops::ScanInputs in = make_inputs(p.config, 2, 3, p.len, p.state, rng);
  for (Tensor t : as_list(in))  // copies share the tensor, and with it the autograd state
    if (t.defined()) t.set_requires_grad(true);
  const bool softplus = in.delta_softplus;
  testing::expect_gradcheck([softplus](const std::vector<Tensor>& v) { return ops::selective_scan(from_list(v, softplus)); },
                            as_list(in), 1e-6);
}

std::vector<GradCase> grad_cases() {
  std::vector<GradCase> cases;
  for (int64_t len : {1, 7, 13})
    for (int64_t state : {1, 5})
      for (int bc = 0; bc < 4; ++bc)
        for (bool extras : {true, false}) {
          Config c{bool(bc & 1), bool(bc & 2), extras, extras, extras, extras};
          cases.push_back({len, state, c});
        }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Sizes, SelectiveScanGradcheck, ::testing::ValuesIn(grad_cases()),
                         [](const ::testing::TestParamInfo<GradCase>& info) {
                           const GradCase& p = info.param;
                           return "L" + std::to_string(p.len) + "_N" + std::to_string(p.state) + "_" +
                                  config_name(p.config);
                         });

TEST(SelectiveScan, GradientsOnlyForInputsThatNeedThem) {
  Rng rng(3);
  ops::ScanInputs in = make_inputs(Config{}, 2, 3, 4, 2, rng);
  in.u.set_requires_grad(true);
  in.delta_bias.set_requires_grad(true);
  backward(ops::sum(ops::selective_scan(in)));
  EXPECT_TRUE(in.u.grad().defined());
  EXPECT_TRUE(in.delta_bias.grad().defined());
  EXPECT_FALSE(in.A.grad().defined());
  EXPECT_FALSE(in.B.grad().defined());
  EXPECT_EQ(tape_size(), 0u);
}

// N = 16 (Mamba's default) takes the kernel's fixed-size path; 8 and 17 the general one.
TEST(SelectiveScan, Float32MatchesFloat64) {
  for (const int64_t state : {8, 16, 17})
    for (const bool variable : {true, false}) {
      SCOPED_TRACE((variable ? "input-dependent B, C, N = " : "time-invariant B, C, N = ") + std::to_string(state));
      Rng rng(11);
      const ops::ScanInputs in64 = make_inputs(Config{variable, variable}, 2, 70, 33, state, rng);
      std::vector<Tensor> list32;
      for (const Tensor& t : as_list(in64)) list32.push_back(t.defined() ? t.to(DType::F32) : Tensor());
      const Tensor y32 = ops::selective_scan(from_list(list32, true));
      EXPECT_EQ(y32.dtype(), DType::F32);
      expect_close(y32, ops::selective_scan(in64), 1e-5, 1e-5);
    }
}

TEST(SelectiveScan, GradcheckWithSixteenStates) {
  Rng rng(12);
  const ops::ScanInputs in = make_inputs(Config{true, false}, 1, 2, 5, 16, rng);
  for (Tensor t : as_list(in))
    if (t.defined()) t.set_requires_grad(true);
  testing::expect_gradcheck([](const std::vector<Tensor>& v) { return ops::selective_scan(from_list(v, true)); },
                            as_list(in));
}

// Runs the op and expects a krait::Error whose message contains `fragment`.
void expect_error(const ops::ScanInputs& in, const std::string& fragment) {
  try {
    ops::selective_scan(in);
    ADD_FAILURE() << "no error; expected one containing \"" << fragment << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(SelectiveScan, ShapeErrorsNameTheTensor) {
  Rng rng(5);
  const ops::ScanInputs good = make_inputs(Config{}, 2, 3, 5, 4, rng);
  ASSERT_NO_THROW(ops::selective_scan(good));
  const auto with = [&](auto change) {
    ops::ScanInputs in = good;
    change(in);
    return in;
  };
  const auto wrong = [&](const Shape& s) { return random_tensor(s, rng); };
  expect_error(with([&](auto& in) { in.u = wrong({2, 3}); }), "selective_scan: u must be 3-D [B, D, L]");
  expect_error(with([&](auto& in) { in.delta = wrong({2, 3, 4}); }),
               "selective_scan: delta has shape [2, 3, 4], expected [B, D, L] = [2, 3, 5]");
  expect_error(with([&](auto& in) { in.A = wrong({4, 4}); }), "selective_scan: A has shape [4, 4], expected [D, N]");
  expect_error(with([&](auto& in) { in.B = wrong({2, 3}); }),
               "selective_scan: B has shape [2, 3], expected [B, N, L] = [2, 4, 5] or [D, N] = [3, 4]");
  expect_error(with([&](auto& in) { in.C = wrong({2, 4, 6}); }),
               "selective_scan: C has shape [2, 4, 6], expected [B, N, L] = [2, 4, 5] or [D, N] = [3, 4]");
  expect_error(with([&](auto& in) { in.D_skip = wrong({4}); }), "selective_scan: D_skip has shape [4], expected [D] = [3]");
  expect_error(with([&](auto& in) { in.z = wrong({2, 5, 3}); }), "selective_scan: z has shape [2, 5, 3]");
  expect_error(with([&](auto& in) { in.delta_bias = wrong({3, 1}); }), "selective_scan: delta_bias has shape [3, 1]");
  expect_error(with([&](auto& in) { in.C = Tensor(); }), "selective_scan: C is required");
  expect_error(with([&](auto& in) { in.z = in.z.to(DType::F32); }), "selective_scan: inputs disagree");
}

}  // namespace
}  // namespace krait
