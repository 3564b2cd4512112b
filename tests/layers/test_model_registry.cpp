// build_model and the registry of backbones: known names, unknown names listed in the error, the
// language-model head agreeing with MambaLM, parameter counts, the ModelBatch interface, and a padded
// vocabulary changing no loss.
#include <gtest/gtest.h>

#include <algorithm>

#include "autograd/ops.h"
#include "common/error.h"
#include "layers/language_model.h"
#include "layers/mamba_lm.h"
#include "layers/model_spec.h"
#include "layers/sequence_classifier.h"
#include "tests/support/error_text.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {

using testing::error_text;
using testing::mentions;

MambaConfig small_config() {
  MambaConfig c;
  c.d_model = 8;
  c.n_layer = 2;
  c.vocab_size = 13;  // padded to 16
  c.d_state = 4;
  return c;
}

TEST(ModelRegistry, BackboneNames) {
  const std::vector<std::string> names = backbone_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "mamba"), names.end());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(ModelSpec{}.backbone, "mamba") << "the default backbone is registered";
  EXPECT_STREQ(task_name(Task::LM), "lm");
  EXPECT_STREQ(task_name(Task::Classify), "classify");
}

TEST(ModelRegistry, UnknownBackboneListsTheKnownOnes) {
  ModelSpec spec;
  spec.backbone = "hyena";
  spec.mamba = small_config();
  const std::string message = error_text([&] { build_model(spec, 0, {}); });
  EXPECT_TRUE(mentions(message, "model.backbone"));
  EXPECT_TRUE(mentions(message, "'hyena'"));
  for (const std::string& name : backbone_names()) EXPECT_TRUE(mentions(message, name));
  spec.task = Task::Classify;
  spec.num_classes = 3;
  EXPECT_TRUE(mentions(error_text([&] { build_model(spec, 0, {}); }), "hyena"));
}

TEST(ModelRegistry, BadBackboneConfigIsAnError) {
  ModelSpec spec;
  spec.mamba = small_config();
  spec.mamba.d_state = 0;
  EXPECT_THROW(build_model(spec, 0, {}), Error);
}

void expect_lm_matches_mamba_lm(bool tie) {
  ModelSpec spec;
  spec.mamba = small_config();
  spec.mamba.tie_embeddings = tie;
  const auto model = build_model(spec, 7, {});
  ASSERT_EQ(model->task(), Task::LM);
  const auto* lm = dynamic_cast<const LanguageModel*>(model.get());
  ASSERT_NE(lm, nullptr) << "Task::LM builds a LanguageModel";
  const MambaLM reference(spec.mamba, 7);
  EXPECT_EQ(model->num_parameters(), reference.num_parameters());
  ASSERT_EQ(model->parameters().size(), reference.parameters().size());
  for (size_t i = 0; i < reference.parameters().size(); ++i) {
    EXPECT_EQ(model->parameters()[i].name, reference.parameters()[i].name);
    EXPECT_EQ(model->parameters()[i].value.to_doubles(), reference.parameters()[i].value.to_doubles())
        << reference.parameters()[i].name;
  }
  EXPECT_EQ(model->compute_dtype(), DType::F32);

  NoGradGuard no_grad;
  ModelBatch batch;
  batch.ids = Tensor::from_indices({1, 4, 2, 9, 0, 12, 3, 7, 5, 5}, {2, 5}, DType::I32);
  batch.targets = Tensor::from_indices({4, 2, 9, 0, -100, 3, 7, 5, 5, 11}, {2, 5}, DType::I32);
  const ModelOutput out = model->forward(batch);
  EXPECT_EQ(out.logits.shape(), (Shape{2, 5, 16}));
  EXPECT_EQ(out.loss.dim(), 0);
  EXPECT_EQ(out.loss.item(), reference.loss(batch.ids, batch.targets).item());
  EXPECT_EQ(out.loss.item(), lm->loss(batch.ids, batch.targets).item());
  testing::expect_close(out.logits, reference.forward(batch.ids), 0, 0);
  // Sum over the 9 counted targets is 9 times the mean.
  const double sum = model->forward(batch, ops::Reduction::Sum).loss.item();
  EXPECT_NEAR(sum, 9 * out.loss.item(), 1e-5 * sum);
  EXPECT_NEAR(sum, reference.loss(batch.ids, batch.targets, -100, ops::Reduction::Sum).item(), 1e-6 * sum);
  // Labels and lengths are not the LM's business.
  batch.labels = Tensor::from_indices({0, 1}, {2}, DType::I32);
  EXPECT_EQ(model->forward(batch).loss.item(), out.loss.item());
}

TEST(ModelRegistry, LanguageModelMatchesMambaLM) { expect_lm_matches_mamba_lm(true); }
TEST(ModelRegistry, UntiedLanguageModelMatchesMambaLM) { expect_lm_matches_mamba_lm(false); }

TEST(ModelRegistry, ClassifierFromTheSpec) {
  ModelSpec spec;
  spec.mamba = small_config();
  spec.task = Task::Classify;
  spec.num_classes = 4;
  spec.pool = ops::PoolMode::Last;
  const auto model = build_model(spec, 3, {});
  ASSERT_EQ(model->task(), Task::Classify);
  const auto* classifier = dynamic_cast<const SequenceClassifier*>(model.get());
  ASSERT_NE(classifier, nullptr);
  EXPECT_EQ(classifier->num_classes(), 4);
  // An untied LM head would be the LM's only extra; the classifier never has one.
  spec.mamba.tie_embeddings = false;
  const auto untied = build_model(spec, 3, {});
  EXPECT_EQ(untied->num_parameters(), model->num_parameters());
  EXPECT_EQ(model->num_parameters(), MambaLM(small_config(), 3).num_parameters() + 4 * 8 + 4);

  NoGradGuard no_grad;
  ModelBatch batch;
  batch.ids = Tensor::from_indices({1, 4, 2, 9, 0, 12, 3, 7, 5, 5}, {2, 5}, DType::I32);
  batch.labels = Tensor::from_indices({3, 0}, {2}, DType::I32);
  const ModelOutput out = model->forward(batch);
  EXPECT_EQ(out.logits.shape(), (Shape{2, 4}));
  // The loss is the cross-entropy of the logits against the labels.
  EXPECT_NEAR(out.loss.item(), ops::cross_entropy(out.logits, batch.labels).item(), 1e-7);
  EXPECT_NEAR(model->forward(batch, ops::Reduction::Sum).loss.item(), 2 * out.loss.item(), 1e-5);
}

// The same model with its vocabulary of 13 padded to 16 rows and unpadded: equal losses and equal
// gradients (float64), the padded rows getting none, for both backbones and both heads.
void expect_padding_changes_nothing(ModelSpec spec, bool tie) {
  spec.mamba.tie_embeddings = spec.transformer.tie_embeddings = tie;
  spec.mamba.pad_vocab_size_multiple = spec.transformer.pad_vocab_size_multiple = 8;
  const auto padded = build_model(spec, 3, {DType::F64});
  spec.mamba.pad_vocab_size_multiple = spec.transformer.pad_vocab_size_multiple = 1;
  const auto unpadded = build_model(spec, 3, {DType::F64});
  const ParameterList& a = padded->parameters();
  const ParameterList& b = unpadded->parameters();
  ASSERT_EQ(a.size(), b.size());
  {
    NoGradGuard no_grad;
    for (size_t i = 0; i < a.size(); ++i)  // the embedding and an untied head keep their first 13 rows
      b[i].value.copy_from(a[i].value.shape() == b[i].value.shape() ? a[i].value
                                                                     : ops::slice(a[i].value, 0, 0, 13));
  }
  ModelBatch batch;
  batch.ids = Tensor::from_indices({1, 4, 2, 9, 0, 12, 3, 7, 5, 5}, {2, 5}, DType::I32);
  batch.targets = Tensor::from_indices({4, 2, 9, 0, -100, 3, 7, 5, 5, 12}, {2, 5}, DType::I32);
  const ModelOutput pa = padded->forward(batch);
  backward(pa.loss);  // each backward runs and clears the tape, so pb is recorded after it
  const ModelOutput pb = unpadded->forward(batch);
  backward(pb.loss);
  EXPECT_EQ(pa.classes, 13);
  EXPECT_NEAR(pa.loss.item(), pb.loss.item(), 1e-13);
  for (size_t i = 0; i < a.size(); ++i) {
    const std::vector<double> ga = a[i].value.grad().to_doubles(), gb = b[i].value.grad().to_doubles();
    for (size_t j = 0; j < ga.size(); ++j)
      ASSERT_NEAR(ga[j], j < gb.size() ? gb[j] : 0.0, 1e-12) << a[i].name << " element " << j;
  }
}

TEST(ModelRegistry, PaddedVocabularyChangesNoLossOrGradient) {
  ModelSpec mamba;
  mamba.mamba = small_config();
  ModelSpec transformer;
  transformer.backbone = "transformer";
  transformer.transformer.d_model = 8;
  transformer.transformer.n_layer = 2;
  transformer.transformer.n_head = 2;
  transformer.transformer.vocab_size = 13;
  for (const bool tie : {true, false}) {
    SCOPED_TRACE(tie ? "tied" : "untied");
    expect_padding_changes_nothing(mamba, tie);
    expect_padding_changes_nothing(transformer, tie);
  }
}

TEST(ModelRegistry, ComputeDtype) {
  ModelSpec spec;
  spec.mamba = small_config();
  const auto lm = build_model(spec, 0, {DType::F64});
  EXPECT_EQ(lm->compute_dtype(), DType::F64);
  EXPECT_THROW(lm->set_compute_dtype(DType::BF16), Error) << "bf16 compute is CUDA only";
  spec.task = Task::Classify;
  spec.num_classes = 2;
  const auto classifier = build_model(spec, 0, {});
  EXPECT_EQ(classifier->compute_dtype(), DType::F32);
  EXPECT_THROW(classifier->set_compute_dtype(DType::BF16), Error);
  classifier->set_compute_dtype(DType::F32);
  EXPECT_EQ(classifier->compute_dtype(), DType::F32);
}

}  // namespace
}  // namespace krait
