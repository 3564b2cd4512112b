// AdamW: hand-computed updates in f64 and f32, bias correction, the weight-decay tag, parameters
// without gradients, state save/load and the errors that name the parameter.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/parameter.h"
#include "common/error.h"
#include "optim/adamw.h"

namespace krait {
namespace {

Parameter make_param(const std::string& name, const std::vector<double>& values, DType dtype,
                     bool no_weight_decay = false) {
  Tensor t = Tensor::from_vector(values, {static_cast<int64_t>(values.size())}, dtype);
  t.set_requires_grad(true);
  return {name, t, {no_weight_decay, false}};
}

void give_grad(const Parameter& p, const std::vector<double>& g) {
  p.value.set_grad(Tensor::from_vector(g, p.value.shape(), p.value.dtype()));
}

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

std::string error_of(const auto& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const AdamWConfig kConfig{.lr = 0.1, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1};

// Three steps on p = [1, -2] with lr 0.1, betas (0.9, 0.95), eps 1e-8, weight decay 0.1, and
// gradients g1 = [0.5, -1], g2 = [-0.25, 2], g3 = [1, 0.125]. Per element, at step t:
//   p <- p - lr*wd*p;  m <- 0.9 m + 0.1 g;  v <- 0.95 v + 0.05 g^2
//   p <- p - lr * (m / (1 - 0.9^t)) / (sqrt(v / (1 - 0.95^t)) + eps)
// Step 1, element 0: p = 1 * 0.99 = 0.99; m = 0.05; v = 0.0125; m^ = 0.5; v^ = 0.25;
//   p = 0.99 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.890000002.       Element 1: -1.880000001.
// Step 2, element 0: p = 0.890000002 * 0.99 = 0.88110000198; m = 0.045 - 0.025 = 0.02;
//   v = 0.011875 + 0.003125 = 0.015; m^ = 0.02 / 0.19; v^ = 0.015 / 0.0975;
//   p = 0.88110000198 - 0.1 * 0.105263157894... / (0.392232270276... + 1e-8) = 0.85426305785582...
// The values below were evaluated in IEEE double from these formulas.
const std::vector<std::vector<double>> kGrads = {{0.5, -1.0}, {-0.25, 2.0}, {1.0, 0.125}};
const std::vector<std::vector<double>> kParams = {{0.890000002, -1.880000001},
                                                  {0.8542630578558273, -1.897537395809663},
                                                  {0.7808459348967066, -1.9105534536981976}};
const std::vector<double> kExpAvg3 = {0.11799999999999998, 0.11149999999999997};
const std::vector<double> kExpAvgSq3 = {0.06425000000000006, 0.2359062500000002};

void run_hand_computed(DType dtype, double tol) {
  Parameter w = make_param("w", {1.0, -2.0}, dtype);
  AdamW opt({w}, kConfig);
  for (size_t t = 0; t < kGrads.size(); ++t) {
    give_grad(w, kGrads[t]);
    opt.step();
    expect_near_all(w.value.to_doubles(), kParams[t], tol);
  }
  EXPECT_EQ(opt.step_count(), 3);
  const std::vector<AdamWParamState> state = opt.state();
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0].name, "w");
  EXPECT_EQ(state[0].step, 3);
  EXPECT_EQ(state[0].exp_avg.dtype(), dtype);
  expect_near_all(state[0].exp_avg.to_doubles(), kExpAvg3, tol);
  expect_near_all(state[0].exp_avg_sq.to_doubles(), kExpAvgSq3, tol);
}

TEST(AdamW, MatchesHandComputedStepsF64) { run_hand_computed(DType::F64, 1e-12); }

TEST(AdamW, MatchesHandComputedStepsF32) { run_hand_computed(DType::F32, 1e-6); }

TEST(AdamW, BiasCorrectionMakesFirstStepLrTimesSign) {
  // At t = 1, m^ = g and v^ = g^2, so without decay each element moves by lr * g / (|g| + eps).
  Parameter w = make_param("w", {3.0, -1.0, 0.5}, DType::F64);
  AdamW opt({w}, {.lr = 0.01, .weight_decay = 0.0});
  give_grad(w, {1e-3, -250.0, 4.0});
  opt.step();
  const std::vector<double> want = {3.0 - 0.01 * 1e-3 / (1e-3 + 1e-8), -1.0 + 0.01 * 250.0 / (250.0 + 1e-8),
                                    0.5 - 0.01 * 4.0 / (4.0 + 1e-8)};
  expect_near_all(w.value.to_doubles(), want, 1e-15);
}

TEST(AdamW, NoWeightDecayTagSkipsDecay) {
  Parameter decayed = make_param("weight", {2.0}, DType::F64);
  Parameter kept = make_param("bias", {2.0}, DType::F64, /*no_weight_decay=*/true);
  AdamW opt({decayed, kept}, {.lr = 0.1, .weight_decay = 0.5});
  give_grad(decayed, {1.0});
  give_grad(kept, {1.0});
  opt.step();
  const double adam = 0.1 * 1.0 / (1.0 + 1e-8);
  EXPECT_NEAR(decayed.value.item(), 2.0 * (1.0 - 0.1 * 0.5) - adam, 1e-15);
  EXPECT_NEAR(kept.value.item(), 2.0 - adam, 1e-15);
}

TEST(AdamW, ParametersWithoutGradientAreUntouched) {
  Parameter a = make_param("a", {1.0, 2.0}, DType::F32);
  Parameter b = make_param("b", {3.0, 4.0}, DType::F32);
  AdamW opt({a, b}, kConfig);

  give_grad(a, {0.5, 0.5});
  opt.step();  // b has no gradient yet: no state, value unchanged
  EXPECT_EQ(b.value.to_doubles(), (std::vector<double>{3.0, 4.0}));
  ASSERT_EQ(opt.state().size(), 1u);
  EXPECT_EQ(opt.state()[0].name, "a");

  give_grad(b, {1.0, -1.0});
  opt.step();
  const std::vector<double> a_value = a.value.to_doubles();
  const std::vector<double> b_value = b.value.to_doubles();
  const std::vector<AdamWParamState> before = opt.state();
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0].step, 2);
  EXPECT_EQ(before[1].step, 1);  // b's own bias-correction count, as in torch
  const std::vector<double> b_m = before[1].exp_avg.to_doubles();
  const std::vector<double> b_v = before[1].exp_avg_sq.to_doubles();

  b.value.zero_grad();
  opt.step();  // only a moves
  EXPECT_NE(a.value.to_doubles(), a_value);
  EXPECT_EQ(b.value.to_doubles(), b_value);
  const std::vector<AdamWParamState> after = opt.state();
  EXPECT_EQ(after[1].step, 1);
  EXPECT_EQ(after[1].exp_avg.to_doubles(), b_m);
  EXPECT_EQ(after[1].exp_avg_sq.to_doubles(), b_v);
  EXPECT_EQ(opt.step_count(), 3);
}

TEST(AdamW, StateRoundTripGivesIdenticalNextStep) {
  for (DType dtype : {DType::F32, DType::F64}) {
    Parameter w = make_param("w", {1.0, -2.0}, dtype);
    Parameter b = make_param("b", {0.25}, dtype, /*no_weight_decay=*/true);
    AdamW opt({w, b}, kConfig);
    for (int t = 0; t < 2; ++t) {
      give_grad(w, kGrads[t]);
      give_grad(b, {0.5 - t});
      opt.step();
    }
    // Snapshot the parameters and the optimizer as a checkpoint would.
    Parameter w2{w.name, w.value.clone().set_requires_grad(true), w.tags};
    Parameter b2{b.name, b.value.clone().set_requires_grad(true), b.tags};
    std::vector<AdamWParamState> saved;
    for (const AdamWParamState& s : opt.state())
      saved.push_back({s.name, s.step, s.exp_avg.clone(), s.exp_avg_sq.clone()});
    AdamW restored({w2, b2}, kConfig);
    restored.load_state(opt.step_count(), saved);
    EXPECT_EQ(restored.step_count(), 2);

    for (const Parameter* p : {&w, &w2}) give_grad(*p, kGrads[2]);
    for (const Parameter* p : {&b, &b2}) give_grad(*p, {-3.0});
    opt.step();
    restored.step();
    EXPECT_EQ(w2.value.to_doubles(), w.value.to_doubles());
    EXPECT_EQ(b2.value.to_doubles(), b.value.to_doubles());
    EXPECT_EQ(restored.state()[0].exp_avg_sq.to_doubles(), opt.state()[0].exp_avg_sq.to_doubles());
  }
}

TEST(AdamW, LoadStateConvertsDtypeAndCopies) {
  Parameter w = make_param("w", {1.0, 2.0}, DType::F32);
  AdamW opt({w}, kConfig);
  Tensor m = Tensor::from_vector({0.1, 0.2}, {2}, DType::F64);
  Tensor v = Tensor::from_vector({0.3, 0.4}, {2}, DType::F64);
  opt.load_state(5, {{"w", 5, m, v}});
  const AdamWParamState s = opt.state().at(0);
  EXPECT_EQ(s.exp_avg.dtype(), DType::F32);
  EXPECT_FALSE(s.exp_avg.same_storage(m));
  EXPECT_NEAR(s.exp_avg_sq.to_doubles()[1], 0.4, 1e-7);
}

TEST(AdamW, LoadStateErrorsNameTheParameter) {
  Parameter w = make_param("layers.0.mixer.in_proj.weight", {1.0, 2.0}, DType::F32);
  AdamW opt({w}, kConfig);
  Tensor ok = Tensor::zeros({2}, DType::F32);
  Tensor wrong = Tensor::zeros({3}, DType::F32);
  const std::string shape_error = error_of([&] { opt.load_state(1, {{w.name, 1, ok, wrong}}); });
  EXPECT_NE(shape_error.find("layers.0.mixer.in_proj.weight"), std::string::npos) << shape_error;
  EXPECT_NE(shape_error.find("f32[3]"), std::string::npos) << shape_error;
  const std::string name_error = error_of([&] { opt.load_state(1, {{"nope", 1, ok, ok}}); });
  EXPECT_NE(name_error.find("'nope'"), std::string::npos) << name_error;
  EXPECT_THROW(opt.load_state(1, {{w.name, 1, ok, ok}, {w.name, 1, ok, ok}}), Error);
  EXPECT_THROW(opt.load_state(1, {{w.name, 2, ok, ok}}), Error);  // step beyond step_count
  EXPECT_THROW(opt.load_state(1, {{w.name, 1, ok, Tensor()}}), Error);
  EXPECT_TRUE(opt.state().empty());  // a failed load changes nothing
}

TEST(AdamW, RejectsBadParametersBeforeChangingAny) {
  Parameter good = make_param("good", {1.0}, DType::F32);
  Parameter half = make_param("half", {1.0}, DType::BF16);
  AdamW opt({good, half}, kConfig);
  give_grad(good, {1.0});
  give_grad(half, {1.0});
  const std::string error = error_of([&] { opt.step(); });
  EXPECT_NE(error.find("'half'"), std::string::npos) << error;
  EXPECT_EQ(good.value.item(), 1.0);
  EXPECT_EQ(opt.step_count(), 0);

  Parameter mixed = make_param("mixed", {1.0}, DType::F32);
  mixed.value.set_grad(Tensor::from_vector({1.0}, {1}, DType::F64));
  AdamW opt2({mixed}, kConfig);
  const std::string grad_error = error_of([&] { opt2.step(); });
  EXPECT_NE(grad_error.find("'mixed'"), std::string::npos) << grad_error;
  EXPECT_NE(grad_error.find("f64[1]"), std::string::npos) << grad_error;
}

TEST(AdamW, ValidatesConfigAndNames) {
  Parameter w = make_param("w", {1.0}, DType::F32);
  EXPECT_THROW(AdamW({w}, {.beta1 = 1.0}), Error);
  EXPECT_THROW(AdamW({w}, {.beta2 = -0.1}), Error);
  EXPECT_THROW(AdamW({w}, {.eps = -1.0}), Error);
  EXPECT_THROW(AdamW({w}, {.weight_decay = -0.1}), Error);
  EXPECT_THROW(AdamW({w}, {.lr = std::nan("")}), Error);
  const std::string dup = error_of([&] { AdamW({w, w}, kConfig); });
  EXPECT_NE(dup.find("'w' appears twice"), std::string::npos) << dup;
  AdamW opt({w}, kConfig);
  EXPECT_THROW(opt.step(-1.0), Error);
}

}  // namespace
}  // namespace krait
