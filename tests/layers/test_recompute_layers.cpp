// Per-layer activation recomputation (Backbone::set_recompute_layers): a float64 step gives the same
// loss and the same gradient for every parameter with it as without, for the Mamba backbone (default
// and ablations), the Transformer and a classifier head; the tape is empty afterwards and generation
// is unaffected.
#include <gtest/gtest.h>

#include <vector>

#include "autograd/ops.h"
#include "layers/language_model.h"
#include "layers/model_spec.h"
#include "tests/layers/tiny_config.h"

namespace krait {
namespace {

struct StepResult {
  double loss = 0;
  size_t recorded_nodes = 0;               // on the tape after the forward
  std::vector<std::vector<double>> grads;  // one per parameter, in the model's order
};

StepResult train_step(Model& model, bool recompute, bool keep_logits = false) {
  model.set_recompute_layers(recompute);
  for (const Parameter& p : model.parameters()) p.value.zero_grad();
  ModelBatch batch;
  batch.keep_logits = keep_logits;
  batch.ids = Tensor::from_indices({1, 5, 2, 9, 0, 3, 3, 7, 10, 4}, {2, 5});
  if (model.task() == Task::LM) {
    batch.targets = Tensor::from_indices({5, 2, 9, 0, 3, 3, 7, 10, 4, -100}, {2, 5});
  } else {
    batch.labels = Tensor::from_indices({1, 0}, {2});
  }
  const Tensor loss = model.forward(batch).loss;
  const size_t recorded_nodes = tape_size();
  backward(loss);
  EXPECT_EQ(tape_size(), 0u);
  StepResult r{loss.item(), recorded_nodes, {}};
  for (const Parameter& p : model.parameters()) {
    EXPECT_TRUE(p.value.grad().defined()) << p.name;
    r.grads.push_back(p.value.grad().to_doubles());
  }
  return r;
}

// Bit for bit: the recomputed layers run the same ops on the same values in the same order, and each
// gradient accumulates its terms in the same order.
void expect_same_step(const ModelSpec& spec) {
  const auto model = build_model(spec, 3, {DType::F64});
  const StepResult plain = train_step(*model, false), recomputed = train_step(*model, true);
  EXPECT_LT(recomputed.recorded_nodes, plain.recorded_nodes) << "the layers' own ops are not on the tape";
  EXPECT_EQ(recomputed.loss, plain.loss);
  ASSERT_EQ(recomputed.grads.size(), plain.grads.size());
  for (size_t i = 0; i < plain.grads.size(); ++i)
    EXPECT_EQ(recomputed.grads[i], plain.grads[i]) << model->parameters()[i].name;
}

ModelSpec mamba(const MambaConfig& c) {
  ModelSpec spec;
  spec.mamba = c;
  return spec;
}

TEST(RecomputeLayers, MambaSameLossAndGradients) { expect_same_step(mamba(testing::tiny_config())); }

TEST(RecomputeLayers, MambaAblationsSameLossAndGradients) {
  MambaConfig time_invariant = testing::tiny_config();
  time_invariant.selective = false;
  time_invariant.tie_embeddings = false;
  expect_same_step(mamba(time_invariant));
  MambaConfig no_conv_no_gate = testing::tiny_config();
  no_conv_no_gate.conv = false, no_conv_no_gate.gate = false, no_conv_no_gate.bias = true;
  expect_same_step(mamba(no_conv_no_gate));
}

// The Mamba layers are recomputed; the MoE layers between them are kept (their aux loss is a second output).
TEST(RecomputeLayers, MoeMambaSameLossAndGradients) {
  ModelSpec spec = mamba(testing::tiny_config());
  spec.backbone = "moe-mamba";
  spec.mamba.moe.experts = 3;
  spec.mamba.moe.hidden = 5;
  expect_same_step(spec);
}

TEST(RecomputeLayers, MambaClassifierSameLossAndGradients) {
  ModelSpec spec = mamba(testing::tiny_config());
  spec.task = Task::Classify;
  spec.num_classes = 2;
  spec.pool = ops::PoolMode::Last;
  expect_same_step(spec);
}

TEST(RecomputeLayers, TransformerSameLossAndGradients) {
  ModelSpec spec;
  spec.backbone = "transformer";
  spec.transformer.d_model = 8;
  spec.transformer.n_layer = 2;
  spec.transformer.n_head = 2;
  spec.transformer.d_ff = 12;
  spec.transformer.vocab_size = 13;
  expect_same_step(spec);
}

// The training loss with the head fused into it (ops::linear_cross_entropy, a few rows of logits at a
// time) against the head's logits and cross_entropy (keep_logits): the same loss and gradients to
// rounding, with recomputation, at chunks of 1 row, uneven chunks and one chunk.
TEST(RecomputeLayers, FusedHeadLossMatchesLogitsAndCrossEntropy) {
  const auto model = build_model(mamba(testing::tiny_config()), 3, {DType::F64});
  auto* lm = dynamic_cast<LanguageModel*>(model.get());
  ASSERT_NE(lm, nullptr);
  const StepResult plain = train_step(*model, false, true);
  for (int64_t rows : {1, 3, 4, 10}) {
    lm->set_loss_chunk_rows(rows);
    const StepResult chunked = train_step(*model, true);
    EXPECT_NEAR(chunked.loss, plain.loss, 1e-12) << rows << " rows a chunk";
    for (size_t i = 0; i < plain.grads.size(); ++i)
      for (size_t j = 0; j < plain.grads[i].size(); ++j)
        ASSERT_NEAR(chunked.grads[i][j], plain.grads[i][j], 1e-12) << model->parameters()[i].name << " at " << j;
  }
}

// The flag is for the training forward: the recurrence (prefill and steps) runs as before.
TEST(RecomputeLayers, GenerationUnaffected) {
  const auto model = build_model(mamba(testing::tiny_config()), 3, {DType::F64});
  const Tensor prompt = Tensor::from_indices({1, 5, 2, 9}, {1, 4});
  auto logits = [&] {
    auto generator = model->generator(1);
    const std::vector<double> prefill = generator->prefill(prompt).to_doubles();
    std::vector<double> step = generator->step(Tensor::from_indices({3}, {1})).to_doubles();
    step.insert(step.begin(), prefill.begin(), prefill.end());
    return step;
  };
  const std::vector<double> plain = logits();
  model->set_recompute_layers(true);
  EXPECT_EQ(logits(), plain);
  EXPECT_EQ(tape_size(), 0u);
}

}  // namespace
}  // namespace krait
