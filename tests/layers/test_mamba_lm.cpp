// The Mamba language model: parameter inventory and tags, seeded reference initialization, a float64
// gradient check of the whole model (selective and time-invariant), and a memorization run with SGD.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "autograd/ops.h"
#include "common/error.h"
#include "layers/mamba_lm.h"
#include "tests/layers/tiny_config.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {

using testing::tiny_config;

std::map<std::string, Parameter> by_name(const MambaLM& model) {
  std::map<std::string, Parameter> out;
  for (const Parameter& p : model.parameters()) out[p.name] = p;
  return out;
}

TEST(MambaLM, ParameterInventoryAndCount) {
  MambaConfig c = tiny_config();
  MambaLM model(c, 0);
  const int64_t D = 4, E = 8, N = 3, R = 1, K = 3, V = 16;
  const int64_t per_layer = D /*norm*/ + 2 * E * D /*in_proj*/ + E * K + E /*conv*/ + (R + 2 * N) * E /*x_proj*/ +
                            R * E + E /*dt_proj*/ + E * N /*A_log*/ + E /*D*/ + D * E /*out_proj*/;
  EXPECT_EQ(model.num_parameters(), V * D + 2 * per_layer + D);
  const auto params = by_name(model);
  EXPECT_EQ(params.size(), model.parameters().size()) << "parameter names must be unique";
  for (const char* name : {"embedding.weight", "layers.1.mixer.in_proj.weight", "layers.0.mixer.conv1d.bias",
                           "layers.0.mixer.dt_proj.bias", "layers.1.mixer.A_log", "norm_f.weight"})
    EXPECT_TRUE(params.count(name)) << name;
  EXPECT_TRUE(params.at("layers.0.mixer.A_log").tags.no_weight_decay);
  EXPECT_TRUE(params.at("layers.0.mixer.A_log").tags.fp32_only);
  EXPECT_TRUE(params.at("layers.0.mixer.D").tags.no_weight_decay);
  EXPECT_TRUE(params.at("layers.0.norm.weight").tags.no_weight_decay);
  EXPECT_TRUE(params.at("embedding.weight").tags.no_weight_decay);
  EXPECT_TRUE(params.at("layers.0.mixer.dt_proj.bias").tags.no_weight_decay);
  EXPECT_FALSE(params.at("layers.0.mixer.in_proj.weight").tags.no_weight_decay);
  EXPECT_FALSE(params.at("layers.0.mixer.x_proj.weight").tags.no_weight_decay);

  c.tie_embeddings = false;
  EXPECT_EQ(MambaLM(c, 0).num_parameters(), model.num_parameters() + V * D);
  c.tie_embeddings = true;
  c.selective = false;  // x_proj and dt_proj give way to per-channel dt bias, B and C
  EXPECT_EQ(MambaLM(c, 0).num_parameters(), model.num_parameters() - 2 * ((R + 2 * N) * E + R * E + E) +
                                                2 * (E + 2 * E * N));
}

TEST(MambaLM, ReferenceInitialization) {
  MambaConfig c = tiny_config();
  c.d_model = 64;  // enough channels to see the dt distribution
  const MambaLM model(c, 42);
  const auto params = by_name(model);
  const auto a_log = params.at("layers.0.mixer.A_log").value.to_doubles();
  for (size_t i = 0; i < a_log.size(); ++i) EXPECT_NEAR(a_log[i], std::log(double(i % 3 + 1)), 1e-7);
  for (double d : params.at("layers.1.mixer.D").value.to_doubles()) EXPECT_EQ(d, 1.0);
  for (double w : params.at("layers.0.norm.weight").value.to_doubles()) EXPECT_EQ(w, 1.0);
  // softplus(dt bias) is the initial step size, log-uniform in [dt_min, dt_max].
  for (double b : params.at("layers.0.mixer.dt_proj.bias").value.to_doubles()) {
    const double dt = std::log1p(std::exp(b));
    EXPECT_GE(dt, c.dt_min * (1 - 1e-6));
    EXPECT_LE(dt, c.dt_max * (1 + 1e-6));
  }
  const double dt_bound = std::pow(4.0, -0.5);  // dt_rank = ceil(64 / 16) = 4
  for (double w : params.at("layers.0.mixer.dt_proj.weight").value.to_doubles()) EXPECT_LE(std::abs(w), dt_bound);
  // out_proj: U(+-1/sqrt(d_inner)) scaled by 1/sqrt(n_layer).
  const double out_bound = 1.0 / std::sqrt(128.0) / std::sqrt(2.0);
  double out_max = 0;
  for (double w : params.at("layers.0.mixer.out_proj.weight").value.to_doubles()) out_max = std::max(out_max, std::abs(w));
  EXPECT_LE(out_max, out_bound);
  EXPECT_GT(out_max, 0.9 * out_bound);
  // Embedding ~ N(0, 0.02).
  const auto emb = params.at("embedding.weight").value.to_doubles();
  double sq = 0;
  for (double e : emb) sq += e * e;
  EXPECT_NEAR(std::sqrt(sq / emb.size()), 0.02, 0.002);
}

TEST(MambaLM, SameSeedSameWeights) {
  const MambaLM a(tiny_config(), 7), b(tiny_config(), 7), c(tiny_config(), 8);
  bool any_differs = false;
  for (size_t i = 0; i < a.parameters().size(); ++i) {
    EXPECT_EQ(a.parameters()[i].value.to_doubles(), b.parameters()[i].value.to_doubles()) << a.parameters()[i].name;
    any_differs |= a.parameters()[i].value.to_doubles() != c.parameters()[i].value.to_doubles();
  }
  EXPECT_TRUE(any_differs);
}

TEST(MambaLM, RejectsBadConfigAndInput) {
  MambaConfig c = tiny_config();
  c.d_state = 0;
  EXPECT_THROW(MambaLM(c, 0), Error);
  const MambaLM model(tiny_config(), 0);
  EXPECT_THROW(model.forward(Tensor::from_indices({1, 2, 3}, {3})), Error);
  EXPECT_THROW(model.forward(Tensor::from_indices({1, 16}, {1, 2})), Error) << "id beyond the padded vocab";
}

void check_model_gradients(MambaConfig c) {
  // Step sizes of order one make the loss depend visibly on delta's parameters (dt_proj, A_log);
  // with the default dt in [0.001, 0.1] their gradients sit near the finite differences' noise.
  c.dt_min = 0.2;
  c.dt_max = 1.0;
  const MambaLM model(c, 3, DType::F64);
  const Tensor ids = Tensor::from_indices({1, 5, 2, 9, 0, 3, 3, 7, 10, 4}, {2, 5});
  const Tensor targets = Tensor::from_indices({5, 2, 9, 0, 3, 3, 7, 10, 4, -100}, {2, 5});
  std::vector<Tensor> inputs;
  for (const Parameter& p : model.parameters()) inputs.push_back(p.value);
  const testing::GradcheckReport report =
      testing::gradcheck([&](const std::vector<Tensor>&) { return model.loss(ids, targets); }, inputs);
  ASSERT_EQ(report.relative_error.size(), model.parameters().size());
  for (size_t i = 0; i < report.relative_error.size(); ++i)
    EXPECT_LT(report.relative_error[i], 1e-6) << model.parameters()[i].name;
}

TEST(MambaLM, WholeModelGradientCheck) { check_model_gradients(tiny_config()); }

TEST(MambaLM, WholeModelGradientCheckWithLinearBiases) {
  MambaConfig c = tiny_config();
  c.bias = true;  // in_proj and out_proj biases: the mixer's token-major in_proj path
  check_model_gradients(c);
}

TEST(MambaLM, WholeModelGradientCheckTimeInvariant) {
  MambaConfig c = tiny_config();
  c.selective = false;
  c.tie_embeddings = false;
  check_model_gradients(c);
}

TEST(MambaLM, SgdMemorizesARepeatedSequence) {
  MambaConfig c;
  c.d_model = 32;
  c.n_layer = 2;
  c.vocab_size = 16;
  const MambaLM model(c, 11);
  // A fixed sequence of 8 tokens repeated: after a few periods the next token is determined.
  std::vector<int64_t> seq;
  for (int i = 0; i < 33; ++i) seq.push_back((i * 5 + i / 8) % 8 + 3);
  const Tensor ids = Tensor::from_indices(std::vector<int64_t>(seq.begin(), seq.end() - 1), {1, 32}, DType::I32);
  const Tensor targets = Tensor::from_indices(std::vector<int64_t>(seq.begin() + 1, seq.end()), {1, 32}, DType::I32);
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    const Tensor loss = model.loss(ids, targets);
    if (step == 0) first = loss.item();
    last = loss.item();
    backward(loss);
    NoGradGuard no_grad;
    for (const Parameter& p : model.parameters()) {
      float* w = p.value.data<float>();
      const float* g = p.value.grad().data<float>();
      for (int64_t i = 0; i < p.value.numel(); ++i) w[i] -= 0.1f * g[i];
      p.value.zero_grad();
    }
  }
  EXPECT_GT(first, 2.0);
  EXPECT_LT(last, 0.05) << "loss went from " << first << " to " << last;
}

}  // namespace
}  // namespace krait
