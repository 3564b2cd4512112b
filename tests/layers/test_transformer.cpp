// tests/layers/test_transformer.cpp — the Transformer++ backbone: parameter inventory and count
// (4 d^2 + 3 d d_ff + 2 d per layer, for a small config and for 125M), GPT-2 initialization, the
// whole language model against a forward written out here in plain doubles, a float64 gradient
// check of every parameter, causality, the same weights from the same seed, and bad configs.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "autograd/ops.h"
#include "common/error.h"
#include "layers/language_model.h"
#include "layers/model_spec.h"
#include "layers/transformer_backbone.h"
#include "tests/support/error_text.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {

using testing::error_text;
using testing::mentions;

TransformerConfig tiny_config() {
  TransformerConfig c;
  c.d_model = 8;
  c.n_layer = 2;
  c.n_head = 2;  // heads of 4: two rotary pairs each
  c.d_ff = 12;
  c.vocab_size = 13;  // padded to 16
  return c;
}

std::unique_ptr<Model> build(const TransformerConfig& c, uint64_t seed, DType dtype = DType::F32) {
  ModelSpec spec;
  spec.backbone = "transformer";
  spec.transformer = c;
  return build_model(spec, seed, {dtype});
}

std::map<std::string, Parameter> by_name(const Model& model) {
  std::map<std::string, Parameter> out;
  for (const Parameter& p : model.parameters()) out[p.name] = p;
  return out;
}

int64_t expected_count(int64_t V, int64_t d, int64_t L, int64_t F) { return V * d + L * (4 * d * d + 3 * d * F + 2 * d) + d; }

TEST(Transformer, ParameterInventoryAndCount) {
  TransformerConfig c = tiny_config();
  const auto model = build(c, 0);
  EXPECT_EQ(model->num_parameters(), expected_count(16, 8, 2, 12));
  const auto params = by_name(*model);
  EXPECT_EQ(params.size(), model->parameters().size()) << "parameter names must be unique";
  EXPECT_EQ(params.size(), 1 + 2 * 6 + 1u);
  const std::map<std::string, Shape> shapes = {
      {"embedding.weight", {16, 8}},          {"layers.0.norm.weight", {8}},
      {"layers.0.mixer.in_proj.weight", {24, 8}}, {"layers.0.mixer.out_proj.weight", {8, 8}},
      {"layers.1.norm2.weight", {8}},         {"layers.1.mlp.fc1.weight", {24, 8}},
      {"layers.1.mlp.fc2.weight", {8, 12}},   {"norm_f.weight", {8}}};
  for (const auto& [name, shape] : shapes) {
    ASSERT_TRUE(params.count(name)) << name;
    EXPECT_EQ(params.at(name).value.shape(), shape) << name;
  }
  for (const char* name : {"embedding.weight", "layers.0.norm.weight", "layers.1.norm2.weight", "norm_f.weight"})
    EXPECT_TRUE(params.at(name).tags.no_weight_decay) << name;
  for (const char* name : {"layers.0.mixer.in_proj.weight", "layers.0.mixer.out_proj.weight", "layers.0.mlp.fc1.weight",
                           "layers.0.mlp.fc2.weight"})
    EXPECT_FALSE(params.at(name).tags.no_weight_decay) << name;

  c.tie_embeddings = false;
  EXPECT_EQ(build(c, 0)->num_parameters(), expected_count(16, 8, 2, 12) + 16 * 8) << "lm_head.weight";
  c.tie_embeddings = true;
  c.d_ff = 0;  // auto: floor(8 * 8 / 3) = 21, rounded up to 128
  EXPECT_EQ(c.resolved_d_ff(), 128);
  EXPECT_EQ(build(c, 0)->num_parameters(), expected_count(16, 8, 2, 128));
}

TEST(Transformer, ParameterCountOf125M) {
  // GPT-3 Small's shape: 12 x 768, 12 heads, d_ff 2048, the GPT-NeoX vocabulary padded to 50,280.
  TransformerConfig c;
  const TransformerSize& size = transformer_size("125M");
  c.d_model = size.d_model, c.n_layer = size.n_layer, c.n_head = size.n_head, c.vocab_size = 50277;
  EXPECT_EQ(c.resolved_d_ff(), 2048);
  EXPECT_EQ(expected_count(50280, 768, 12, 2048), 123568896);
  EXPECT_EQ(build(c, 0)->num_parameters(), 123568896);
}

TEST(Transformer, SizesTable) {
  const std::vector<TransformerSize>& sizes = transformer_sizes();
  ASSERT_EQ(sizes.size(), 4u);
  const int64_t head_widths[] = {64, 64, 96, 64};
  for (size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(sizes[i].d_model / sizes[i].n_head, head_widths[i]) << sizes[i].name;
  EXPECT_EQ(transformer_size("1.3B").d_model, 2048);
  const std::string message = error_text([] { transformer_size("7B"); });
  EXPECT_TRUE(mentions(message, "'7B'"));
  EXPECT_TRUE(mentions(message, "125M, 350M, 760M, 1.3B"));
}

TEST(Transformer, Gpt2Initialization) {
  TransformerConfig c = tiny_config();
  c.d_model = 64, c.n_head = 4, c.d_ff = 96, c.n_layer = 8;
  const auto params = by_name(*build(c, 42));
  const auto rms = [&](const std::string& name) {
    double sq = 0;
    const std::vector<double> v = params.at(name).value.to_doubles();
    for (double e : v) sq += e * e;
    return std::sqrt(sq / double(v.size()));
  };
  const double out_std = 0.02 / std::sqrt(16.0);  // 1/sqrt(2 n_layer)
  EXPECT_NEAR(rms("embedding.weight"), 0.02, 0.002);
  EXPECT_NEAR(rms("layers.3.mixer.in_proj.weight"), 0.02, 0.001);
  EXPECT_NEAR(rms("layers.3.mlp.fc1.weight"), 0.02, 0.001);
  EXPECT_NEAR(rms("layers.3.mixer.out_proj.weight"), out_std, 0.1 * out_std);
  EXPECT_NEAR(rms("layers.3.mlp.fc2.weight"), out_std, 0.1 * out_std);
  for (const char* name : {"layers.5.norm.weight", "layers.5.norm2.weight", "norm_f.weight"})
    for (double w : params.at(name).value.to_doubles()) EXPECT_EQ(w, 1.0) << name;
}

// ---- the forward written out in plain doubles ----

using Vec = std::vector<double>;

Vec matvec(const Parameter& w, const Vec& x) {  // w (out, in)
  const std::vector<double> W = w.value.to_doubles();
  const size_t in = x.size(), out = W.size() / in;
  Vec y(out, 0.0);
  for (size_t o = 0; o < out; ++o)
    for (size_t i = 0; i < in; ++i) y[o] += W[o * in + i] * x[i];
  return y;
}

Vec rms_norm(const Vec& x, const Parameter& w, double eps) {
  double ms = 0;
  for (double v : x) ms += v * v / double(x.size());
  const std::vector<double> W = w.value.to_doubles();
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] / std::sqrt(ms + eps) * W[i];
  return y;
}

// logits[b][t] for ids (B, L): embedding, then per layer RMSNorm -> qkv -> rotary -> causal softmax
// attention per head -> out_proj, residual; RMSNorm -> fc1 -> silu(gate) * value -> fc2, residual; final
// RMSNorm; the tied head.
std::vector<std::vector<Vec>> reference_logits(const TransformerConfig& c, const Model& model,
                                               const std::vector<std::vector<int64_t>>& ids) {
  const auto p = by_name(model);
  const int64_t d = c.d_model, H = c.n_head, Dh = c.head_dim(), F = c.resolved_d_ff();
  const std::vector<double> emb = p.at("embedding.weight").value.to_doubles();
  std::vector<std::vector<Vec>> out;
  for (const std::vector<int64_t>& row : ids) {
    const int64_t L = static_cast<int64_t>(row.size());
    std::vector<Vec> h(L);
    for (int64_t t = 0; t < L; ++t) h[t] = Vec(emb.begin() + row[t] * d, emb.begin() + (row[t] + 1) * d);
    for (int64_t layer = 0; layer < c.n_layer; ++layer) {
      const std::string name = "layers." + std::to_string(layer);
      std::vector<Vec> qkv(L);
      for (int64_t t = 0; t < L; ++t) {
        qkv[t] = matvec(p.at(name + ".mixer.in_proj.weight"), rms_norm(h[t], p.at(name + ".norm.weight"), c.norm_eps));
        for (int64_t head = 0; head < 2 * H; ++head)
          for (int64_t i = 0; i < Dh / 2; ++i) {
            const double a = double(t) * std::pow(c.rope_theta, -2.0 * double(i) / double(Dh));
            double& x0 = qkv[t][head * Dh + i];
            double& x1 = qkv[t][head * Dh + i + Dh / 2];
            const double r0 = x0 * std::cos(a) - x1 * std::sin(a), r1 = x0 * std::sin(a) + x1 * std::cos(a);
            x0 = r0;
            x1 = r1;
          }
      }
      for (int64_t t = 0; t < L; ++t) {
        Vec attended(d, 0.0);
        for (int64_t head = 0; head < H; ++head) {
          Vec scores(t + 1);
          double top = -1e300, total = 0;
          for (int64_t s = 0; s <= t; ++s) {
            scores[s] = 0;
            for (int64_t j = 0; j < Dh; ++j) scores[s] += qkv[t][head * Dh + j] * qkv[s][(H + head) * Dh + j];
            scores[s] /= std::sqrt(double(Dh));
            top = std::max(top, scores[s]);
          }
          for (double& e : scores) total += (e = std::exp(e - top));
          for (int64_t s = 0; s <= t; ++s)
            for (int64_t j = 0; j < Dh; ++j) attended[head * Dh + j] += scores[s] / total * qkv[s][(2 * H + head) * Dh + j];
        }
        const Vec o = matvec(p.at(name + ".mixer.out_proj.weight"), attended);
        for (int64_t j = 0; j < d; ++j) h[t][j] += o[j];
      }
      for (int64_t t = 0; t < L; ++t) {
        const Vec u = matvec(p.at(name + ".mlp.fc1.weight"), rms_norm(h[t], p.at(name + ".norm2.weight"), c.norm_eps));
        Vec g(F);
        for (int64_t j = 0; j < F; ++j) g[j] = u[j] / (1 + std::exp(-u[j])) * u[F + j];
        const Vec o = matvec(p.at(name + ".mlp.fc2.weight"), g);
        for (int64_t j = 0; j < d; ++j) h[t][j] += o[j];
      }
    }
    std::vector<Vec> logits(L);
    for (int64_t t = 0; t < L; ++t)
      logits[t] = matvec(p.at("embedding.weight"), rms_norm(h[t], p.at("norm_f.weight"), c.norm_eps));
    out.push_back(logits);
  }
  return out;
}

TEST(Transformer, ForwardMatchesTheWrittenOutModel) {
  TransformerConfig c = tiny_config();
  c.rope_theta = 50.0;  // turns the pairs visibly at these few positions
  const auto model = build(c, 5, DType::F64);
  const std::vector<std::vector<int64_t>> ids = {{1, 5, 2, 9, 0, 12, 3}, {4, 4, 11, 7, 6, 2, 8}};
  ModelBatch batch;
  batch.ids = Tensor::from_indices({1, 5, 2, 9, 0, 12, 3, 4, 4, 11, 7, 6, 2, 8}, {2, 7}, DType::I32);
  batch.targets = batch.ids;
  NoGradGuard no_grad;
  const Tensor logits = model->forward(batch).logits;
  ASSERT_EQ(logits.shape(), (Shape{2, 7, 16}));
  const std::vector<double> got = logits.to_doubles();
  const auto want = reference_logits(c, *model, ids);
  for (size_t b = 0; b < 2; ++b)
    for (size_t t = 0; t < 7; ++t)
      for (size_t v = 0; v < 16; ++v) EXPECT_NEAR(got[(b * 7 + t) * 16 + v], want[b][t][v], 1e-12) << b << ", " << t;
}

TEST(Transformer, WholeModelGradientCheck) {
  for (const bool tie : {true, false}) {
    TransformerConfig c = tiny_config();
    c.tie_embeddings = tie;
    c.init_std = 0.3;  // weights of order one, so that every branch moves the loss visibly
    const auto model = build(c, 3, DType::F64);
    ModelBatch batch;
    batch.ids = Tensor::from_indices({1, 5, 2, 9, 0, 3, 3, 7, 10, 4}, {2, 5});
    batch.targets = Tensor::from_indices({5, 2, 9, 0, 3, 3, 7, 10, 4, -100}, {2, 5});
    std::vector<Tensor> inputs;
    for (const Parameter& p : model->parameters()) inputs.push_back(p.value);
    const testing::GradcheckReport report =
        testing::gradcheck([&](const std::vector<Tensor>&) { return model->forward(batch).loss; }, inputs);
    ASSERT_EQ(report.relative_error.size(), model->parameters().size());
    for (size_t i = 0; i < report.relative_error.size(); ++i)
      EXPECT_LT(report.relative_error[i], 1e-6) << model->parameters()[i].name << (tie ? " (tied)" : " (untied)");
  }
}

TEST(Transformer, Causal) {
  const auto model = build(tiny_config(), 9);
  const std::vector<int64_t> ids = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
  NoGradGuard no_grad;
  const auto logits_of = [&](const std::vector<int64_t>& row) {
    ModelBatch batch;
    batch.ids = Tensor::from_indices(row, {1, 10}, DType::I32);
    batch.targets = batch.ids;
    return model->forward(batch).logits.to_doubles();
  };
  const std::vector<double> base = logits_of(ids);
  for (const int64_t t : {0, 4, 9}) {
    std::vector<int64_t> changed = ids;
    changed[t] = (changed[t] + 7) % 13;
    const std::vector<double> other = logits_of(changed);
    for (int64_t s = 0; s < 10; ++s) {
      const std::vector<double> a(base.begin() + s * 16, base.begin() + (s + 1) * 16),
          b(other.begin() + s * 16, other.begin() + (s + 1) * 16);
      if (s < t) EXPECT_EQ(a, b) << "position " << s << " saw token " << t;
      else EXPECT_NE(a, b) << "position " << s << " did not see token " << t;
    }
  }
}

TEST(Transformer, SameSeedSameModel) {
  const auto a = build(tiny_config(), 7), b = build(tiny_config(), 7), c = build(tiny_config(), 8);
  bool any_differs = false;
  for (size_t i = 0; i < a->parameters().size(); ++i) {
    EXPECT_EQ(a->parameters()[i].value.to_doubles(), b->parameters()[i].value.to_doubles()) << a->parameters()[i].name;
    any_differs |= a->parameters()[i].value.to_doubles() != c->parameters()[i].value.to_doubles();
  }
  EXPECT_TRUE(any_differs);
  ModelBatch batch;
  batch.ids = Tensor::from_indices({1, 2, 3, 4, 5, 6}, {2, 3}, DType::I32);
  batch.targets = Tensor::from_indices({2, 3, 4, 5, 6, 7}, {2, 3}, DType::I32);
  EXPECT_EQ(a->forward(batch).loss.item(), b->forward(batch).loss.item());
  // The backbone is drawn before the head: a classifier from the same seed has the same backbone.
  ModelSpec spec;
  spec.backbone = "transformer";
  spec.transformer = tiny_config();
  spec.task = Task::Classify;
  spec.num_classes = 3;
  const auto classifier = build_model(spec, 7, {});
  for (size_t i = 0; i < a->parameters().size(); ++i)
    EXPECT_EQ(classifier->parameters()[i].value.to_doubles(), a->parameters()[i].value.to_doubles());
}

TEST(Transformer, BadConfigsAndInputs) {
  const auto fails_with = [](TransformerConfig c, const std::string& part) {
    EXPECT_TRUE(mentions(error_text([&] { build(c, 0); }), part)) << part;
  };
  TransformerConfig c = tiny_config();
  c.n_head = 3;
  fails_with(c, "n_head (3) must divide d_model (8)");
  c.n_head = 8;  // heads of 1
  fails_with(c, "must be even");
  c = tiny_config();
  c.n_head = 0;
  fails_with(c, "n_head must be > 0");
  c = tiny_config();
  c.d_ff = -2;
  fails_with(c, "d_ff");
  c = tiny_config();
  c.rope_theta = 0;
  fails_with(c, "rope_theta");

  const auto model = build(tiny_config(), 0);
  EXPECT_THROW(model->set_compute_dtype(DType::BF16), Error) << "bf16 compute is CUDA only";
  ModelBatch batch;
  batch.ids = Tensor::from_indices({1, 2, 3}, {3}, DType::I32);
  batch.targets = batch.ids;
  EXPECT_TRUE(mentions(error_text([&] { model->forward(batch); }), "TransformerBackbone: expected ids (batch, seq_len)"));
}

}  // namespace
}  // namespace krait
