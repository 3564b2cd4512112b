// tests/layers/test_mamba_ablations.cpp — the Mamba paper's ablations (Gu & Dao 2023, Section 4.6) in
// the mixer: without the conv, without the gate, each of the 8 choices of input-dependent delta, B and
// C, and the three initializations of A. For each: the parameters and their counts, a float64 gradient
// check of the mixer over every parameter and the input, and a tiny language model built through
// build_model that runs forward and backward, and on a CUDA device (skipped without one) follows the
// CPU in f32 and bf16. The default and time-invariant mixers still draw the weights they drew before
// the ablations existed (checkpoints and seeds stay valid).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <map>
#include <ostream>
#include <string>

#include "common/error.h"
#include "layers/mamba_mixer.h"
#include "layers/model_spec.h"
#include "tests/layers/tiny_config.h"
#include "tests/support/compare.h"
#include "tests/support/error_text.h"
#include "tests/support/gradcheck.h"

namespace krait {

static std::string describe(const MambaConfig& c) {
  std::string s = "selective [";
  for (const std::string& name : c.selective.names()) s += " " + name;
  return s + " ] conv " + (c.conv ? "on" : "off") + ", gate " + (c.gate ? "on" : "off") + ", a_init " +
         a_init_name(c.a_init) + (c.bias ? ", linear biases" : "");
}
// How GoogleTest prints a parameter (found by argument-dependent lookup; internal to this file).
static void PrintTo(const MambaConfig& c, std::ostream* os) { *os << describe(c); }

namespace {

using testing::tiny_config;  // d_model 4, d_inner 8, d_state 3, dt_rank 1, d_conv 3

// The 8 choices of which of delta, B, C depend on the input.
std::vector<Selectivity> every_selectivity() {
  std::vector<Selectivity> out;
  for (int mask = 0; mask < 8; ++mask) out.emplace_back(bool(mask & 1), bool(mask & 2), bool(mask & 4));
  return out;
}

// Every ablation the gradient check and the model test cover: the 8 selectivities with and without
// the conv and the gate, the A initializations, and the token-major in_proj (biases) without the gate.
std::vector<MambaConfig> ablations() {
  std::vector<MambaConfig> out;
  for (const Selectivity& s : every_selectivity())
    for (const bool conv : {true, false})
      for (const bool gate : {true, false}) {
        MambaConfig c = tiny_config();
        c.selective = s, c.conv = conv, c.gate = gate;
        out.push_back(c);
      }
  for (const AInit a : {AInit::S4DLinReal, AInit::Random}) {
    MambaConfig c = tiny_config();
    c.a_init = a;
    out.push_back(c);
  }
  MambaConfig c = tiny_config();
  c.bias = true, c.gate = false, c.selective = Selectivity(false, true, false);
  out.push_back(c);
  return out;
}

std::map<std::string, Shape> shapes_of(const ParameterList& params) {
  std::map<std::string, Shape> out;
  for (const Parameter& p : params) EXPECT_TRUE(out.emplace(p.name, p.value.shape()).second) << p.name << " twice";
  return out;
}

std::map<std::string, Shape> mixer_shapes(const MambaConfig& c, Rng& rng) {
  const MambaMixer mixer("m", c, {}, rng);
  ParameterList params;
  mixer.append_parameters(params);
  return shapes_of(params);
}

TEST(MambaAblations, ParametersOfEachAblation) {
  const int64_t D = 4, E = 8, N = 3, R = 1, K = 3;
  for (const Selectivity& s : every_selectivity())
    for (const bool conv : {true, false})
      for (const bool gate : {true, false}) {
        MambaConfig c = tiny_config();
        c.selective = s, c.conv = conv, c.gate = gate;
        SCOPED_TRACE(describe(c));
        // x_proj yields only the input-dependent parts; the others are per channel.
        std::map<std::string, Shape> want{{"m.in_proj.weight", {(gate ? 2 : 1) * E, D}},
                                          {"m.A_log", {E, N}},
                                          {"m.D", {E}},
                                          {"m.out_proj.weight", {D, E}}};
        if (conv) {
          want["m.conv1d.weight"] = {E, K};
          want["m.conv1d.bias"] = {E};
        }
        const int64_t x_rows = (s.delta ? R : 0) + (s.B ? N : 0) + (s.C ? N : 0);
        if (x_rows > 0) want["m.x_proj.weight"] = {x_rows, E};
        if (s.delta) {
          want["m.dt_proj.weight"] = {E, R};
          want["m.dt_proj.bias"] = {E};
        } else {
          want["m.dt_bias"] = {E};
        }
        if (!s.B) want["m.B"] = {E, N};
        if (!s.C) want["m.C"] = {E, N};
        Rng rng(1);
        EXPECT_EQ(mixer_shapes(c, rng), want);
      }
}

TEST(MambaAblations, ParameterCounts) {
  // Per mixer at the tiny shape: in_proj 2ED = 64, conv EK + E = 32, x_proj (R + 2N) E = 56,
  // dt_proj RE + E = 16, A_log EN = 24, D E = 8, out_proj DE = 32; per channel dt_bias 8, B and C 24 each.
  const auto count = [](const MambaConfig& c) {
    Rng rng(1);
    const MambaMixer mixer("m", c, {}, rng);
    ParameterList params;
    mixer.append_parameters(params);
    int64_t n = 0;
    for (const Parameter& p : params) n += p.value.numel();
    return n;
  };
  MambaConfig c = tiny_config();
  EXPECT_EQ(count(c), 232);
  c.selective = false;
  EXPECT_EQ(count(c), 64 + 32 + 8 + 24 + 24 + 24 + 8 + 32);
  c.selective = Selectivity(true, false, false);  // x_proj is R x E = 8
  EXPECT_EQ(count(c), 64 + 32 + 8 + 16 + 24 + 24 + 24 + 8 + 32);
  c.selective = Selectivity(false, true, true);  // x_proj 2N x E = 48
  EXPECT_EQ(count(c), 64 + 32 + 48 + 8 + 24 + 8 + 32);
  c = tiny_config();
  c.conv = false, c.gate = false;
  EXPECT_EQ(count(c), 32 + 56 + 16 + 24 + 8 + 32);
  c.a_init = AInit::Random;
  EXPECT_EQ(count(c), 32 + 56 + 16 + 24 + 8 + 32) << "A's initialization adds no parameter";
}

TEST(MambaAblations, TagsOfPerChannelParameters) {
  MambaConfig c = tiny_config();
  c.selective = false;
  Rng rng(1);
  const MambaMixer mixer("m", c, {}, rng);
  EXPECT_TRUE(mixer.dt_bias.tags.no_weight_decay);
  EXPECT_FALSE(mixer.B.tags.no_weight_decay);
  EXPECT_FALSE(mixer.C.tags.no_weight_decay);
  EXPECT_TRUE(mixer.A_log.tags.fp32_only);
  EXPECT_TRUE(mixer.A_log.tags.no_weight_decay);
}

// Per parameter of a mixer drawn from Rng(7) in f64: the sum of its elements and their sum weighted by
// (i % 7 + 1), as the mixer drew them before the ablations were added.
using Fingerprint = std::map<std::string, std::pair<double, double>>;

Fingerprint fingerprint(const MambaConfig& c) {
  Rng rng(7);
  const MambaMixer mixer("mixer", c, TensorOptions{DType::F64}, rng);
  ParameterList params;
  mixer.append_parameters(params);
  Fingerprint out;
  for (const Parameter& p : params) {
    const std::vector<double> v = p.value.to_doubles();
    double sum = 0, weighted = 0;
    for (size_t i = 0; i < v.size(); ++i) sum += v[i], weighted += v[i] * double(i % 7 + 1);
    out[p.name] = {sum, weighted};
  }
  return out;
}

void expect_fingerprint(const MambaConfig& c, const Fingerprint& want) {
  const Fingerprint got = fingerprint(c);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, sums] : want) {
    ASSERT_TRUE(got.count(name)) << name;
    EXPECT_NEAR(got.at(name).first, sums.first, 1e-12 * (1 + std::abs(sums.first))) << name;
    EXPECT_NEAR(got.at(name).second, sums.second, 1e-12 * (1 + std::abs(sums.second))) << name;
  }
}

TEST(MambaAblations, DefaultAndTimeInvariantMixersDrawAsBefore) {
  MambaConfig c = tiny_config();
  const std::pair<double, double> in_proj{3.2194720928238101, 21.168396431184863},
      conv_weight{1.3188190577830532, 13.166606032662036}, conv_bias{-0.64655672994473934, -3.3016909688918452},
      a_log{14.33407575382444, 54.85139636550975}, d{8, 29};
  expect_fingerprint(c, {{"mixer.in_proj.weight", in_proj},
                         {"mixer.conv1d.weight", conv_weight},
                         {"mixer.conv1d.bias", conv_bias},
                         {"mixer.x_proj.weight", {-0.13458198106437813, 4.4124453360380649}},
                         {"mixer.dt_proj.weight", {1.4289682285388876, 2.8683775991570162}},
                         {"mixer.dt_proj.bias", {-42.332547663180016, -143.64735019863653}},
                         {"mixer.A_log", a_log},
                         {"mixer.D", d},
                         {"mixer.out_proj.weight", {-1.3139653782090068, -5.9167415764122007}}});
  c.selective = false;
  expect_fingerprint(c, {{"mixer.in_proj.weight", in_proj},
                         {"mixer.conv1d.weight", conv_weight},
                         {"mixer.conv1d.bias", conv_bias},
                         {"mixer.dt_bias", {-41.576458674406283, -153.47240558830873}},
                         {"mixer.B", {24, 90}},
                         {"mixer.C", {-1.0489486784114936, -14.609858257102056}},
                         {"mixer.A_log", a_log},
                         {"mixer.D", d},
                         {"mixer.out_proj.weight", {-0.67498093944117432, -1.4551728126140846}}});
}

TEST(MambaAblations, InitializationsOfA) {
  MambaConfig c = tiny_config();
  c.d_model = 64;  // d_inner 128 x d_state 3: enough draws for the random initialization's moments
  const auto a_log = [&](AInit init, uint64_t seed) {
    c.a_init = init;
    Rng rng(seed);
    return MambaMixer("m", c, {}, rng).A_log.value.to_doubles();
  };
  // S4D-Real: A_n = -(n + 1) in every channel.
  const std::vector<double> real = a_log(AInit::S4DReal, 1);
  for (size_t i = 0; i < real.size(); ++i) EXPECT_NEAR(real[i], std::log(double(i % 3 + 1)), 1e-7);
  // The real part of S4D-Lin: A_n = -1/2.
  for (const double v : a_log(AInit::S4DLinReal, 1)) EXPECT_NEAR(v, std::log(0.5), 1e-7);
  // Random: A_log ~ N(0, 1), so A_n = -exp(N(0, 1)); seeded.
  const std::vector<double> random = a_log(AInit::Random, 1);
  double sum = 0, sq = 0;
  for (const double v : random) sum += v, sq += v * v;
  const double mean = sum / double(random.size()), std = std::sqrt(sq / double(random.size()) - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.15);
  EXPECT_NEAR(std, 1.0, 0.1);
  EXPECT_EQ(a_log(AInit::Random, 1), random);
  EXPECT_NE(a_log(AInit::Random, 2), random);
}

TEST(MambaAblations, SelectivityNames) {
  EXPECT_EQ(Selectivity(true).names(), (std::vector<std::string>{"delta", "B", "C"}));
  EXPECT_TRUE(Selectivity(false).names().empty());
  EXPECT_EQ(Selectivity::from_names({"C", "delta"}), Selectivity(true, false, true));
  EXPECT_TRUE(Selectivity::from_names({}).none());
  EXPECT_TRUE(Selectivity::from_names({"delta", "B", "C"}).all());
  EXPECT_TRUE(testing::mentions(testing::error_text([] { Selectivity::from_names({"A"}); }), "'A'"));
  EXPECT_STREQ(a_init_name(AInit::S4DReal), "s4d_real");
  EXPECT_STREQ(a_init_name(AInit::S4DLinReal), "s4d_lin_real");
  EXPECT_STREQ(a_init_name(AInit::Random), "random");
}

class MambaAblation : public ::testing::TestWithParam<MambaConfig> {};

TEST_P(MambaAblation, MixerGradientCheck) {
  MambaConfig c = GetParam();
  // Step sizes of order one make the output depend visibly on delta's parameters and A_log.
  c.dt_min = 0.2, c.dt_max = 1.0, c.d_state = 2;
  Rng rng(3);
  const MambaMixer mixer("m", c, TensorOptions{DType::F64}, rng);
  ParameterList params;
  mixer.append_parameters(params);
  std::vector<Tensor> inputs{testing::random_leaf({2, 5, c.d_model}, rng)};
  for (const Parameter& p : params) inputs.push_back(p.value);
  const testing::GradcheckReport report =
      testing::gradcheck([&](const std::vector<Tensor>& v) { return mixer.forward(v[0]); }, inputs);
  ASSERT_EQ(report.relative_error.size(), inputs.size());
  EXPECT_LT(report.relative_error[0], 1e-6) << "the input";
  for (size_t i = 0; i < params.size(); ++i) EXPECT_LT(report.relative_error[i + 1], 1e-6) << params[i].name;
}

TEST_P(MambaAblation, LanguageModelRunsForwardAndBackward) {
  ModelSpec spec;
  spec.mamba = GetParam();
  const auto model = build_model(spec, 5, {});
  ModelBatch batch;
  batch.ids = Tensor::from_indices({1, 5, 2, 9, 0, 3, 3, 7, 10, 4}, {2, 5}, DType::I32);
  batch.targets = Tensor::from_indices({5, 2, 9, 0, 3, 3, 7, 10, 4, -100}, {2, 5}, DType::I32);
  const Tensor loss = model->forward(batch).loss;
  EXPECT_TRUE(std::isfinite(loss.item()));
  backward(loss);
  for (const Parameter& p : model->parameters()) {
    ASSERT_TRUE(p.value.grad().defined()) << p.name;
    double sq = 0;
    for (const double g : p.value.grad().to_doubles()) sq += g * g;
    EXPECT_TRUE(std::isfinite(sq)) << p.name;
    EXPECT_GT(sq, 0.0) << p.name << " gets no gradient";
  }
}

// On a CUDA device (skipped without one), in f32 and in bf16 compute, the model follows the CPU's
// (at a shape like MambaLMCuda's, whose tolerances it shares): mixed input-dependent and per-channel B
// and C, no z, no conv are each kernel and op paths of their own.
TEST_P(MambaAblation, CudaFollowsCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  ModelSpec spec;
  spec.mamba = GetParam();
  spec.mamba.d_model = 32, spec.mamba.vocab_size = 61, spec.mamba.d_state = 16, spec.mamba.d_conv = 4;
  std::vector<int64_t> ids(2 * 68);
  Rng rng(6);
  for (int64_t& id : ids) id = static_cast<int64_t>(rng.below(spec.mamba.vocab_size));
  ModelBatch batch;
  batch.ids = Tensor::from_indices(std::vector<int64_t>(ids.begin(), ids.end() - 2), {2, 67}, DType::I32);
  batch.targets = Tensor::from_indices(std::vector<int64_t>(ids.begin() + 2, ids.end()), {2, 67}, DType::I32);
  const auto cpu = build_model(spec, 9, {});
  const Tensor cpu_loss = cpu->forward(batch).loss;
  backward(cpu_loss);
  struct Precision {
    DType compute;
    double loss_tol, grad_tol;  // relative; each gradient's in L2 norm
  };
  for (const Precision& p : {Precision{DType::F32, 1e-5, 1e-3}, Precision{DType::BF16, 5e-3, 5e-2}}) {
    SCOPED_TRACE(p.compute == DType::F32 ? "f32" : "bf16");
    const auto gpu = build_model(spec, 9, {DType::F32, Device::cuda()});
    gpu->set_compute_dtype(p.compute);
    const ModelBatch on_gpu{batch.ids.to(Device::cuda()), batch.targets.to(Device::cuda()), {}, {}};
    const Tensor gpu_loss = gpu->forward(on_gpu).loss;
    backward(gpu_loss);
    EXPECT_NEAR(gpu_loss.item(), cpu_loss.item(), p.loss_tol * std::abs(cpu_loss.item()));
    testing::expect_gradients_close(gpu->parameters(), cpu->parameters(), p.grad_tol);
  }
}

INSTANTIATE_TEST_SUITE_P(Ablations, MambaAblation, ::testing::ValuesIn(ablations()),
                         [](const ::testing::TestParamInfo<MambaConfig>& info) {
                           std::string name;
                           for (const char ch : describe(info.param))
                             if (std::isalnum(static_cast<unsigned char>(ch))) name += ch;
                           return name;
                         });

}  // namespace
}  // namespace krait
