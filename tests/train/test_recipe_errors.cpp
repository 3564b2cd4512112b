// tests/train/test_recipe_errors.cpp — every rejected recipe names its file, line and key path.
#include <gtest/gtest.h>

#include "tests/train/recipe_text.h"

namespace krait::train {
namespace {

using testing::error_of;
using testing::inserted;
using testing::kMinimal;
using testing::mentions;
using testing::plus;
using testing::with_line;

TEST(RecipeErrors, UnknownKeyListsAllowedKeys) {
  const std::string message = error_of(with_line(kMinimal, 3, "  d_modl: 2"));
  EXPECT_TRUE(mentions(message,
                       "configs/x.yaml:3: unknown key 'model.d_modl'; allowed keys in "
                       "'model': backbone, num_classes, pool, d_model, n_layer, vocab_size, d_state,"));
  EXPECT_TRUE(mentions(message, "selective"));
}

TEST(RecipeErrors, UnknownKeyBeatsMissingRequiredKey) {
  // d_model misspelled: the misspelling is reported, not the missing d_model.
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 2, "  d_modle: 64")),
                       "configs/x.yaml:2: unknown key 'model.d_modle'"));
}

TEST(RecipeErrors, UnknownSection) {
  const std::string message = error_of(plus(kMinimal, {"optimizer:", "  lr: 0.1"}));
  EXPECT_TRUE(mentions(message,
                       "configs/x.yaml:9: unknown section 'optimizer'; allowed sections: "
                       "task, model, data, optim, schedule, train, eval"));
}

TEST(RecipeErrors, WrongTypes) {
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 2, "  d_model: abc")),
                       "configs/x.yaml:2: model.d_model: expected an integer, got 'abc'"));
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 2, "  d_model: 64.5")),
                       "configs/x.yaml:2: model.d_model: expected an integer, got '64.5'"));
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 2, "  d_model: [64]")),
                       "configs/x.yaml:2: model.d_model: expected an integer, got '[64]'"));
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 2, "  d_model:")),
                       "configs/x.yaml:2: model.d_model: expected an integer, got nothing"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"optim:", "  lr: fast"})),
                       "configs/x.yaml:10: optim.lr: expected a number, got 'fast'"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"optim:", "  lr: .inf"})),
                       "configs/x.yaml:10: optim.lr: expected a number, got '.inf'"));
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 4, "  bias: yes")),
                       "configs/x.yaml:4: model.bias: expected true or false, got 'yes'"));
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 6, "  train: {path: a.bin}")),
                       "configs/x.yaml:6: data.train: expected a string, got '{path: a.bin}'"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"  decay: cosin"})),
                       "configs/x.yaml:9: schedule.decay: expected one of cosine, linear, "
                       "constant, got 'cosin'"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"optim:", "  betas: [0.9]"})),
                       "configs/x.yaml:10: optim.betas: expected a list of two numbers, got "
                       "'[0.9]'"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"train:", "  grad_accum: some"})),
                       "configs/x.yaml:10: train.grad_accum: expected an integer or auto, got "
                       "'some'"));
}

TEST(RecipeErrors, AblationKeys) {
  const std::string expected = "model.selective: expected true, false or a list of delta, B, C, got ";
  EXPECT_TRUE(mentions(error_of(inserted(kMinimal, 5, "  selective: yes")), "configs/x.yaml:5: " + expected + "'yes'"));
  EXPECT_TRUE(mentions(error_of(inserted(kMinimal, 5, "  selective: [delta, A]")),
                       "configs/x.yaml:5: " + expected + "'[delta, A]'"));
  EXPECT_TRUE(mentions(error_of(inserted(kMinimal, 5, "  selective: delta")), "configs/x.yaml:5: " + expected + "'delta'"));
  EXPECT_TRUE(mentions(error_of(inserted(kMinimal, 5, "  selective: [B, B]")),
                       "configs/x.yaml:5: model.selective: 'B' is listed twice"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"model.selective=[delta, b]"}),
                       "--set model.selective=[delta, b]: " + expected + "'[delta, b]'"));
  EXPECT_TRUE(mentions(error_of(inserted(kMinimal, 5, "  a_init: s4d_lin")),
                       "configs/x.yaml:5: model.a_init: expected one of s4d_real, s4d_lin_real, random, got 's4d_lin'"));
  EXPECT_TRUE(mentions(error_of(inserted(kMinimal, 5, "  conv: none")),
                       "configs/x.yaml:5: model.conv: expected true or false, got 'none'"));
  EXPECT_TRUE(mentions(error_of(inserted(kMinimal, 5, "  gate: [z]")),
                       "configs/x.yaml:5: model.gate: expected true or false, got '[z]'"));
}

TEST(RecipeErrors, SectionMustBeAMapping) {
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"eval: 3"})),
                       "configs/x.yaml:9: eval: expected a mapping, got '3'"));
  EXPECT_TRUE(mentions(error_of({"- model"}),
                       "configs/x.yaml: expected a mapping of sections at the top level"));
}

TEST(RecipeErrors, OutOfRange) {
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 2, "  d_model: -3")),
                       "configs/x.yaml:2: model.d_model must be > 0 (got -3)"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"optim:", "  betas: [0.9, 1.5]"})),
                       "configs/x.yaml:10: optim.betas[1] must be in [0, 1) (got 1.5)"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"train:", "  keep_checkpoints: 0"})),
                       "configs/x.yaml:10: train.keep_checkpoints must be >= 1 (got 0)"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"train:", "  bucket_mb: 0"})),
                       "configs/x.yaml:10: train.bucket_mb must be > 0 (got 0)"));
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 8, "  total_steps: 0")),
                       "configs/x.yaml:8: schedule.total_steps must be > 0 (got 0)"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"train:", "  device: gpu"})),
                       "configs/x.yaml:10: train.device: expected cpu, cuda or cuda:N, got 'gpu'"));
}

TEST(RecipeErrors, MalformedYaml) {
  const std::string message = error_of(plus(kMinimal, {"optim:", "  betas: [0.9, 0.95"}));
  EXPECT_TRUE(mentions(message, "configs/x.yaml:"));
  EXPECT_TRUE(mentions(message, "invalid YAML"));
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 3, "  n_layer: 2: 3")),
                       "configs/x.yaml:3: invalid YAML"));
}

TEST(RecipeErrors, MissingFile) {
  try {
    load_recipe("configs/no-such-recipe.yaml");
    ADD_FAILURE() << "expected a krait::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "recipe file 'configs/no-such-recipe.yaml' not found");
  }
}

TEST(RecipeErrors, DuplicateKey) {
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"model:", "  expand: 4"})),
                       "configs/x.yaml:9: duplicate key 'model' (first at configs/x.yaml:1)"));
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 3, "  d_model: 32")),
                       "configs/x.yaml:3: duplicate key 'model.d_model' (first at "
                       "configs/x.yaml:2)"));
}

TEST(RecipeErrors, MissingRequiredKeys) {
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 4, "  d_state: 8")),
                       "configs/x.yaml:1: missing required key 'model.vocab_size'"));
  EXPECT_TRUE(mentions(error_of({"model: {d_model: 8, n_layer: 1, vocab_size: 9}"}),
                       "configs/x.yaml: missing required key 'data.train'"));
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 8, "  warmup_steps: 0")),
                       "configs/x.yaml:7: missing schedule.total_steps or total_tokens; give "
                       "exactly one"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"  total_tokens: 1000"})),
                       "configs/x.yaml:8: schedule.total_steps and total_tokens are both set; "
                       "give exactly one"));
}

TEST(RecipeErrors, InconsistentFields) {
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"  warmup_steps: 101"})),
                       "configs/x.yaml:9: schedule.warmup_steps (101) must be <= the total steps "
                       "(100)"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"  min_lr: 0.5"})),
                       "configs/x.yaml:9: schedule.min_lr (0.5) must be <= optim.lr (0.001)"));
  EXPECT_TRUE(mentions(error_of(inserted(kMinimal, 5, "  dt_max: 0.0005")),
                       "configs/x.yaml:5: model.dt_min (0.001) must be <= model.dt_max (0.0005)"));
}

TEST(RecipeErrors, BatchDoesNotSplit) {
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"train:", "  micro_batch: 5"})),
                       "configs/x.yaml:10: data.batch_size (16) must be a multiple of "
                       "train.micro_batch 5 x world size 1 (train.grad_accum is auto)"));
  EXPECT_TRUE(mentions(error_of(plus(kMinimal, {"train:", "  micro_batch: 4", "  grad_accum: 3"})),
                       "configs/x.yaml:10: data.batch_size (16) must equal train.micro_batch x "
                       "train.grad_accum x world size (got 4 x 3 x 1)"));
}

TEST(RecipeErrors, OverrideErrorsNameTheOverride) {
  EXPECT_TRUE(mentions(error_of(kMinimal, {"model.d_modl=3"}),
                       "--set model.d_modl=3: unknown key 'model.d_modl'; allowed keys in "
                       "'model': backbone, num_classes, pool, d_model,"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"modle.d_model=3"}),
                       "--set modle.d_model=3: unknown section 'modle'"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"model.d_model=abc"}),
                       "--set model.d_model=abc: model.d_model: expected an integer, got 'abc'"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"model.d_model=-3"}),
                       "--set model.d_model=-3: model.d_model must be > 0 (got -3)"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"model={d_model: 8, n_layer: 1, vocab_size: 9, x: 1}"}),
                       "--set model={d_model: 8, n_layer: 1, vocab_size: 9, x: 1}: unknown key "
                       "'model.x'"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"model.d_model"}),
                       "--set model.d_model: expected key.path=value"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"model..d_model=3"}),
                       "--set model..d_model=3: expected key.path=value"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"optim.betas=[0.9,"}),
                       "--set optim.betas=[0.9,: invalid YAML value"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"model.d_model.x=3"}),
                       "--set model.d_model.x=3: 'model.d_model' is not a section (it holds "
                       "'64')"));
  // A conflict between the file and an override is located at the override.
  EXPECT_TRUE(mentions(error_of(kMinimal, {"schedule.total_tokens=1e6"}),
                       "--set schedule.total_tokens=1e6: schedule.total_steps and total_tokens are "
                       "both set"));
  // A key the file set but an override did not keeps its file location.
  EXPECT_TRUE(mentions(error_of(with_line(kMinimal, 3, "  n_layer: 0"), {"model.d_model=8"}),
                       "configs/x.yaml:3: model.n_layer must be > 0 (got 0)"));
}

}  // namespace
}  // namespace krait::train
