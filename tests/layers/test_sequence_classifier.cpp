// The sequence classifier: a float64 gradient check of the whole model for both pooling modes, with
// and without per-row lengths; its parameter inventory against MambaLM's; the seeded backbone shared
// with MambaLM; the errors of bad heads and bad batches; and a memorization run with SGD.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>

#include "autograd/ops.h"
#include "common/error.h"
#include "layers/language_model.h"
#include "layers/mamba_backbone.h"
#include "layers/mamba_lm.h"
#include "layers/model_spec.h"
#include "layers/sequence_classifier.h"
#include "tests/support/error_text.h"
#include "tests/layers/tiny_config.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {

using testing::error_text;
using testing::mentions;

using testing::tiny_config;

ModelSpec classify_spec(const MambaConfig& config, int64_t classes, ops::PoolMode pool) {
  ModelSpec spec;
  spec.task = Task::Classify;
  spec.mamba = config;
  spec.num_classes = classes;
  spec.pool = pool;
  return spec;
}

std::map<std::string, Parameter> by_name(const ParameterList& params) {
  std::map<std::string, Parameter> out;
  for (const Parameter& p : params) out[p.name] = p;
  return out;
}

void check_classifier_gradients(ops::PoolMode pool, bool with_lengths) {
  MambaConfig c = tiny_config();
  // As in the MambaLM gradient check: step sizes of order one make delta's parameters matter.
  c.dt_min = 0.2;
  c.dt_max = 1.0;
  const auto model = build_model(classify_spec(c, 3, pool), 3, {DType::F64});
  ModelBatch batch;
  batch.ids = Tensor::from_indices({1, 5, 2, 9, 0, 3, 3, 7, 10, 4, 6, 8, 2, 2, 1}, {3, 5}, DType::I32);
  batch.labels = Tensor::from_indices({2, 0, 1}, {3}, DType::I32);
  if (with_lengths) batch.lengths = Tensor::from_indices({3, 5, 1}, {3}, DType::I32);
  std::vector<Tensor> inputs;
  for (const Parameter& p : model->parameters()) inputs.push_back(p.value);
  // A finer step than the default: the embedding (rms 0.02) feeds an RMSNorm, whose curvature at
  // that scale makes the default step's O(h^4) truncation error show at the 1e-6 level.
  const testing::GradcheckReport report = testing::gradcheck(
      [&](const std::vector<Tensor>&) { return model->forward(batch).loss; }, inputs, /*seed=*/1, /*eps=*/1e-3);
  ASSERT_EQ(report.relative_error.size(), model->parameters().size());
  for (size_t i = 0; i < report.relative_error.size(); ++i)
    EXPECT_LT(report.relative_error[i], 1e-6) << model->parameters()[i].name;
}

TEST(SequenceClassifier, GradientCheckMeanPool) { check_classifier_gradients(ops::PoolMode::Mean, false); }
TEST(SequenceClassifier, GradientCheckMeanPoolWithLengths) { check_classifier_gradients(ops::PoolMode::Mean, true); }
TEST(SequenceClassifier, GradientCheckLastPool) { check_classifier_gradients(ops::PoolMode::Last, false); }
TEST(SequenceClassifier, GradientCheckLastPoolWithLengths) { check_classifier_gradients(ops::PoolMode::Last, true); }

// Padding after a row's length changes nothing under either pooling: the backbone is causal.
TEST(SequenceClassifier, PaddingBeyondTheLengthIsIgnored) {
  for (ops::PoolMode pool : {ops::PoolMode::Mean, ops::PoolMode::Last}) {
    const auto model = build_model(classify_spec(tiny_config(), 2, pool), 4, {DType::F64});
    NoGradGuard no_grad;
    ModelBatch a, b;
    a.ids = Tensor::from_indices({1, 5, 2, 0, 0, 3, 3, 7, 10, 4}, {2, 5}, DType::I32);
    b.ids = Tensor::from_indices({1, 5, 2, 9, 8, 3, 3, 7, 10, 4}, {2, 5}, DType::I32);
    a.labels = b.labels = Tensor::from_indices({1, 0}, {2}, DType::I32);
    a.lengths = b.lengths = Tensor::from_indices({3, 5}, {2}, DType::I32);
    const ModelOutput oa = model->forward(a), ob = model->forward(b);
    EXPECT_EQ(oa.logits.shape(), (Shape{2, 2}));
    testing::expect_close(oa.logits, ob.logits, 1e-12, 1e-12);
    EXPECT_NEAR(oa.loss.item(), ob.loss.item(), 1e-12);
    // Without lengths the padding is read.
    a.lengths = Tensor();
    b.lengths = Tensor();
    EXPECT_NE(model->forward(a).logits.to_doubles()[0], model->forward(b).logits.to_doubles()[0]);
  }
}

TEST(SequenceClassifier, ParameterInventory) {
  MambaConfig c = tiny_config();
  c.tie_embeddings = false;  // MambaLM has lm_head.weight; the classifier never does
  const auto model = build_model(classify_spec(c, 5, ops::PoolMode::Mean), 0, {});
  EXPECT_EQ(model->task(), Task::Classify);
  const auto params = by_name(model->parameters());
  EXPECT_EQ(params.size(), model->parameters().size()) << "parameter names must be unique";
  ASSERT_TRUE(params.count("classifier.weight"));
  ASSERT_TRUE(params.count("classifier.bias"));
  EXPECT_EQ(params.at("classifier.weight").value.shape(), (Shape{5, 4}));
  EXPECT_EQ(params.at("classifier.bias").value.shape(), (Shape{5}));
  EXPECT_TRUE(params.at("classifier.bias").tags.no_weight_decay);
  EXPECT_FALSE(params.at("classifier.weight").tags.no_weight_decay);
  EXPECT_FALSE(params.at("classifier.weight").tags.fp32_only);
  for (double b : params.at("classifier.bias").value.to_doubles()) EXPECT_EQ(b, 0.0);
  for (double w : params.at("classifier.weight").value.to_doubles()) EXPECT_LE(std::abs(w), 0.5);  // 1/sqrt(4)
  for (const Parameter& p : model->parameters()) EXPECT_TRUE(p.value.requires_grad()) << p.name;

  // The backbone's names, in order, are MambaLM's less the LM head; the head comes last.
  const MambaLM lm(c, 0);
  std::vector<std::string> lm_names, backbone_names;
  for (const Parameter& p : lm.parameters())
    if (p.name != "lm_head.weight") lm_names.push_back(p.name);
  ASSERT_EQ(lm_names.size() + 1, lm.parameters().size()) << "the untied MambaLM has lm_head.weight";
  const ParameterList& cp = model->parameters();
  ASSERT_EQ(cp.size(), lm_names.size() + 2);
  for (size_t i = 0; i + 2 < cp.size(); ++i) backbone_names.push_back(cp[i].name);
  EXPECT_EQ(backbone_names, lm_names);
  EXPECT_EQ(cp[cp.size() - 2].name, "classifier.weight");
  EXPECT_EQ(cp[cp.size() - 1].name, "classifier.bias");
  // Tags follow the backbone too.
  const auto lm_params = by_name(lm.parameters());
  for (const std::string& name : lm_names) {
    EXPECT_EQ(params.at(name).tags.no_weight_decay, lm_params.at(name).tags.no_weight_decay) << name;
    EXPECT_EQ(params.at(name).tags.fp32_only, lm_params.at(name).tags.fp32_only) << name;
    EXPECT_EQ(params.at(name).value.shape(), lm_params.at(name).value.shape()) << name;
  }
  c.tie_embeddings = true;
  EXPECT_EQ(model->num_parameters(), MambaLM(c, 0).num_parameters() + 5 * 4 + 5);
}

TEST(SequenceClassifier, BackboneMatchesMambaLMOfTheSameSeed) {
  for (bool tie : {true, false}) {
    MambaConfig c = tiny_config();
    c.tie_embeddings = tie;
    for (uint64_t seed : {0u, 17u}) {
      SCOPED_TRACE("tie " + std::to_string(tie) + " seed " + std::to_string(seed));
      const auto model = build_model(classify_spec(c, 3, ops::PoolMode::Last), seed, {});
      const MambaLM lm(c, seed);
      const auto lm_params = by_name(lm.parameters());
      size_t compared = 0;
      for (const Parameter& p : model->parameters()) {
        if (p.name.rfind("classifier.", 0) == 0) continue;
        ASSERT_TRUE(lm_params.count(p.name)) << p.name;
        EXPECT_EQ(p.value.to_doubles(), lm_params.at(p.name).value.to_doubles()) << p.name;
        ++compared;
      }
      EXPECT_EQ(compared, model->parameters().size() - 2);
    }
  }
  // Another seed draws another backbone.
  const auto a = build_model(classify_spec(tiny_config(), 3, ops::PoolMode::Last), 1, {});
  const auto b = build_model(classify_spec(tiny_config(), 3, ops::PoolMode::Last), 2, {});
  EXPECT_NE(a->parameters()[0].value.to_doubles(), b->parameters()[0].value.to_doubles());
}

TEST(SequenceClassifier, Errors) {
  for (int64_t classes : {-1, 0, 1}) {
    const std::string message =
        error_text([&] { build_model(classify_spec(tiny_config(), classes, ops::PoolMode::Mean), 0, {}); });
    EXPECT_TRUE(mentions(message, "num_classes")) << classes;
    EXPECT_TRUE(mentions(message, std::to_string(classes))) << classes;
  }
  {
    Rng rng(0);
    EXPECT_THROW(SequenceClassifier(std::make_unique<MambaBackbone>(tiny_config(), TensorOptions{}, rng), 1,
                                    ops::PoolMode::Mean, {}, rng),
                 Error);
  }

  const auto model = build_model(classify_spec(tiny_config(), 3, ops::PoolMode::Mean), 0, {});
  ModelBatch batch;
  batch.ids = Tensor::from_indices({1, 2, 3, 4, 5, 6}, {2, 3}, DType::I32);
  batch.targets = Tensor::from_indices({2, 3, 4, 5, 6, 7}, {2, 3}, DType::I32);
  EXPECT_TRUE(mentions(error_text([&] { model->forward(batch); }), "no labels"));
  batch.labels = Tensor::from_indices({0, 1, 2}, {3}, DType::I32);
  EXPECT_TRUE(mentions(error_text([&] { model->forward(batch); }), "labels"));
  batch.labels = Tensor::from_indices({0, 1, 2, 0}, {2, 2}, DType::I32);
  EXPECT_TRUE(mentions(error_text([&] { model->forward(batch); }), "labels"));
  batch.labels = Tensor::from_indices({0, 1}, {2}, DType::I32);
  EXPECT_NO_THROW(model->forward(batch));
  batch.lengths = Tensor::from_indices({0, 3}, {2}, DType::I32);
  EXPECT_THROW(model->forward(batch), Error) << "a length of 0";
  batch.lengths = Tensor::from_indices({2, 4}, {2}, DType::I32);
  EXPECT_THROW(model->forward(batch), Error) << "a length beyond seq_len";

  // A language model given a classification batch.
  ModelSpec lm_spec;
  lm_spec.mamba = tiny_config();
  const auto lm = build_model(lm_spec, 0, {});
  ModelBatch classify;
  classify.ids = batch.ids;
  classify.labels = batch.labels;
  EXPECT_TRUE(mentions(error_text([&] { lm->forward(classify); }), "no targets"));
  classify.targets = Tensor::from_indices({1, 2}, {1, 2}, DType::I32);
  EXPECT_TRUE(mentions(error_text([&] { lm->forward(classify); }), "targets"));
}

// Eight fixed random sequences, each with a random one of two labels: a small classifier trained
// with plain full-batch SGD gets every one right (argmax) and then drives the loss towards zero.
TEST(SequenceClassifier, SgdMemorizesEightSequences) {
  const auto start = std::chrono::steady_clock::now();
  MambaConfig c;
  c.d_model = 16;
  c.n_layer = 2;
  c.vocab_size = 16;
  c.d_state = 4;
  for (ops::PoolMode pool : {ops::PoolMode::Mean, ops::PoolMode::Last}) {
    SCOPED_TRACE(pool == ops::PoolMode::Mean ? "mean" : "last");
    const auto model = build_model(classify_spec(c, 2, pool), 9, {});
    Rng rng(13);
    const int64_t rows = 8, length = 12;
    std::vector<int64_t> ids(rows * length), labels(rows), lengths(rows);
    for (int64_t& id : ids) id = static_cast<int64_t>(rng.below(16));
    for (int64_t r = 0; r < rows; ++r) {
      labels[r] = static_cast<int64_t>(rng.below(2));
      lengths[r] = length - static_cast<int64_t>(rng.below(4));
    }
    labels[0] = 0;  // both classes present whatever the draws
    labels[1] = 1;
    ModelBatch batch;
    batch.ids = Tensor::from_indices(ids, {rows, length}, DType::I32);
    batch.labels = Tensor::from_indices(labels, {rows}, DType::I32);
    batch.lengths = Tensor::from_indices(lengths, {rows}, DType::I32);
    int first_correct = -1, first_perfect = -1;
    double first_loss = 0, loss = 0;
    for (int step = 0; step < 400; ++step) {
      const ModelOutput out = model->forward(batch);
      loss = out.loss.item();
      const std::vector<double> logits = out.logits.to_doubles();
      int correct = 0;
      for (int64_t r = 0; r < rows; ++r) correct += (logits[2 * r + 1] > logits[2 * r]) == (labels[r] == 1);
      if (step == 0) {
        first_loss = loss;
        first_correct = correct;
      }
      if (correct == rows && first_perfect < 0) first_perfect = step;
      if (first_perfect >= 0 && loss < 0.01) break;
      backward(out.loss);
      NoGradGuard no_grad;
      for (const Parameter& p : model->parameters()) {
        float* w = p.value.data<float>();
        const float* g = p.value.grad().data<float>();
        for (int64_t i = 0; i < p.value.numel(); ++i) w[i] -= 0.2f * g[i];
        p.value.zero_grad();
      }
    }
    EXPECT_LT(first_correct, rows) << "the fresh model should not already fit them";
    EXPECT_GE(first_perfect, 0) << "loss went from " << first_loss << " to " << loss;
    EXPECT_LT(loss, 0.05) << "loss went from " << first_loss << "; every row right from step " << first_perfect;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 4.0) << "a small model on 8 short rows";
}

}  // namespace
}  // namespace krait
