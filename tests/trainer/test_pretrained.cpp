// train/pretrained: name patterns, freezing parameters, and initializing a classifier from a language
// model's checkpoint (a file or a run folder): what is loaded, kept new and ignored, and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "autograd/ops.h"
#include "common/error.h"
#include "layers/mamba_lm.h"
#include "layers/model_spec.h"
#include "tests/checkpoint/test_util.h"
#include "train/checkpoint_file.h"
#include "train/pretrained.h"
#include "train/run_dir.h"

namespace krait::train {
namespace {

using checkpoint_testing::TempDir;
using krait::testing::error_text;
using krait::testing::mentions;

TEST(NameMatches, Exact) {
  EXPECT_TRUE(name_matches("norm_f.weight", "norm_f.weight"));
  EXPECT_FALSE(name_matches("norm_f.weight", "norm_f.weights"));
  EXPECT_FALSE(name_matches("norm_f", "norm_f.weight"));
  EXPECT_FALSE(name_matches("norm_f.weight", "norm_f"));
  EXPECT_FALSE(name_matches("Norm_f.weight", "norm_f.weight"));
}

TEST(NameMatches, StarAnywhere) {
  EXPECT_TRUE(name_matches("layers.*", "layers.0.mixer.A_log"));
  EXPECT_TRUE(name_matches("*.bias", "classifier.bias"));
  EXPECT_TRUE(name_matches("*bias", "bias"));
  EXPECT_TRUE(name_matches("embedding*", "embedding.weight"));
  EXPECT_TRUE(name_matches("layers*weight", "layers.0.norm.weight")) << "'*' crosses dots";
  EXPECT_TRUE(name_matches("*", "anything.at.all"));
  EXPECT_FALSE(name_matches("*.bias", "x.bias.weight"));
  EXPECT_FALSE(name_matches("layers.*", "norm_f.weight"));
  EXPECT_TRUE(name_matches("*ab", "aab")) << "backtracking";
  EXPECT_FALSE(name_matches("a*a", "a"));
}

TEST(NameMatches, MultipleStars) {
  EXPECT_TRUE(name_matches("layers.*.mixer.*_proj.*", "layers.0.mixer.in_proj.weight"));
  EXPECT_TRUE(name_matches("layers.*.mixer.*_proj.*", "layers.11.mixer.dt_proj.bias"));
  EXPECT_FALSE(name_matches("layers.*.mixer.*_proj.*", "layers.0.mixer.A_log"));
  EXPECT_TRUE(name_matches("*mixer*A*", "layers.3.mixer.A_log"));
  EXPECT_TRUE(name_matches("a*b*c", "abxbc"));
  EXPECT_FALSE(name_matches("a*b*c", "acb"));
  EXPECT_TRUE(name_matches("**", "x"));
  EXPECT_TRUE(name_matches("a**b", "ab"));
  EXPECT_TRUE(name_matches("layers.*.norm.*", "layers.2.norm.weight"));
  EXPECT_FALSE(name_matches("layers.*.norm.*", "layers.2.mixer.weight"));
}

TEST(NameMatches, EmptyNameAndPattern) {
  EXPECT_TRUE(name_matches("", ""));
  EXPECT_TRUE(name_matches("*", ""));
  EXPECT_TRUE(name_matches("**", ""));
  EXPECT_FALSE(name_matches("a", ""));
  EXPECT_FALSE(name_matches("*a", ""));
  EXPECT_FALSE(name_matches("", "a"));
}

MambaConfig tiny_config(int64_t d_model = 4) {
  MambaConfig c;
  c.d_model = d_model;
  c.n_layer = 2;
  c.vocab_size = 11;
  c.d_state = 3;
  c.d_conv = 3;
  c.expand = 2;
  return c;
}

std::unique_ptr<Model> classifier(const MambaConfig& config, uint64_t seed) {
  ModelSpec spec;
  spec.task = Task::Classify;
  spec.num_classes = 3;
  spec.mamba = config;
  return build_model(spec, seed, {});
}

std::vector<std::string> names_of(const ParameterList& params) {
  std::vector<std::string> names;
  for (const Parameter& p : params) names.push_back(p.name);
  return names;
}

TEST(FreezeParameters, FreezesTheMatchingAndReturnsTheRest) {
  const auto model = classifier(tiny_config(), 1);
  std::vector<std::string> frozen = {"already here"};
  const ParameterList trainable = freeze_parameters(model->parameters(), {"embedding.*", "layers.0.*"}, frozen);
  std::vector<std::string> expected_frozen = {"already here"}, expected_trainable;
  for (const Parameter& p : model->parameters()) {
    const bool freeze = p.name.rfind("embedding.", 0) == 0 || p.name.rfind("layers.0.", 0) == 0;
    (freeze ? expected_frozen : expected_trainable).push_back(p.name);
    // The model's own parameter tensors carry the change.
    EXPECT_EQ(p.value.requires_grad(), !freeze) << p.name;
  }
  EXPECT_EQ(frozen, expected_frozen) << "frozen names are appended, in the model's order";
  EXPECT_EQ(names_of(trainable), expected_trainable);
  EXPECT_GT(expected_trainable.size(), 2u);
  EXPECT_GT(expected_frozen.size(), 3u);
  for (const Parameter& p : trainable) EXPECT_TRUE(p.value.requires_grad()) << p.name;

  // A backward pass reaches only the trainable parameters.
  ModelBatch batch;
  batch.ids = Tensor::from_indices({1, 2, 3, 4, 5, 6}, {2, 3}, DType::I32);
  batch.labels = Tensor::from_indices({0, 2}, {2}, DType::I32);
  backward(model->forward(batch).loss);
  for (const Parameter& p : model->parameters()) {
    const bool trains = std::find(expected_trainable.begin(), expected_trainable.end(), p.name) !=
                        expected_trainable.end();
    EXPECT_EQ(p.value.grad().defined(), trains) << p.name;
  }
}

TEST(FreezeParameters, NoPatternsFreezeNothing) {
  const auto model = classifier(tiny_config(), 1);
  std::vector<std::string> frozen;
  const ParameterList trainable = freeze_parameters(model->parameters(), {}, frozen);
  EXPECT_TRUE(frozen.empty());
  EXPECT_EQ(names_of(trainable), names_of(model->parameters()));
}

TEST(FreezeParameters, PatternMatchingNothingIsAnError) {
  const auto model = classifier(tiny_config(), 1);
  std::vector<std::string> frozen;
  const std::string message =
      error_text([&] { freeze_parameters(model->parameters(), {"layers.*", "backbone.*"}, frozen); });
  EXPECT_TRUE(mentions(message, "train.freeze"));
  EXPECT_TRUE(mentions(message, "'backbone.*'"));
  EXPECT_FALSE(mentions(message, "'layers.*'")) << "only the pattern that matched nothing";
  EXPECT_TRUE(mentions(message, "embedding.weight")) << "a few names show what they look like";
}

// A checkpoint as the trainer writes one: every parameter of an untied MambaLM under "model/".
void write_lm_checkpoint(const MambaLM& lm, const std::string& path, int64_t step = 10) {
  CheckpointWriter writer;
  for (const Parameter& p : lm.parameters()) writer.put_tensor("model/" + p.name, p.value);
  writer.put_int("state/step", step);
  writer.write(path);
}

MambaConfig untied(MambaConfig c) {
  c.tie_embeddings = false;
  return c;
}

void expect_loaded_from(const Model& model, const MambaLM& lm, const InitReport& report) {
  std::map<std::string, Parameter> lm_params;
  for (const Parameter& p : lm.parameters()) lm_params[p.name] = p;
  std::vector<std::string> backbone;
  for (const Parameter& p : model.parameters()) {
    if (p.name.rfind("classifier.", 0) == 0) continue;
    backbone.push_back(p.name);
    ASSERT_TRUE(lm_params.count(p.name)) << p.name;
    EXPECT_EQ(p.value.to_doubles(), lm_params.at(p.name).value.to_doubles()) << p.name;
    EXPECT_TRUE(p.value.requires_grad()) << p.name << " is still a trainable leaf";
  }
  EXPECT_EQ(report.loaded, backbone);
  EXPECT_EQ(report.fresh, (std::vector<std::string>{"classifier.weight", "classifier.bias"}));
  EXPECT_EQ(report.ignored, (std::vector<std::string>{"lm_head.weight"}));
}

TEST(InitFromCheckpoint, LoadsTheBackboneFromAFile) {
  TempDir dir;
  const MambaLM lm(untied(tiny_config()), 5);
  const std::string path = dir.file("lm.h5");
  write_lm_checkpoint(lm, path);
  const auto model = classifier(tiny_config(), 6);  // another seed: every weight differs at first
  const std::vector<double> head_before = model->parameters()[model->parameters().size() - 2].value.to_doubles();
  EXPECT_NE(model->parameters()[0].value.to_doubles(), lm.parameters()[0].value.to_doubles());
  const InitReport report = init_from_checkpoint(model->parameters(), path);
  EXPECT_EQ(report.checkpoint, path);
  expect_loaded_from(*model, lm, report);
  EXPECT_EQ(model->parameters()[model->parameters().size() - 2].value.to_doubles(), head_before)
      << "the new head keeps its initialization";
}

TEST(InitFromCheckpoint, LoadsTheNewestCheckpointOfARunFolder) {
  TempDir dir;
  const std::string run = dir.file("run");
  const MambaLM older(untied(tiny_config()), 5), newer(untied(tiny_config()), 8);
  write_lm_checkpoint(older, checkpoint_path(run, 10), 10);
  write_lm_checkpoint(newer, checkpoint_path(run, 20), 20);
  ASSERT_EQ(checkpoint_path(run, 10), run + "/checkpoints/step-00000010.h5");
  const auto model = classifier(tiny_config(), 6);
  const InitReport report = init_from_checkpoint(model->parameters(), run);
  EXPECT_EQ(report.checkpoint, checkpoint_path(run, 20));
  expect_loaded_from(*model, newer, report);

  // One checkpoint only.
  std::filesystem::remove(checkpoint_path(run, 20));
  const auto again = classifier(tiny_config(), 6);
  const InitReport single = init_from_checkpoint(again->parameters(), run);
  EXPECT_EQ(single.checkpoint, checkpoint_path(run, 10));
  expect_loaded_from(*again, older, single);
}

TEST(InitFromCheckpoint, TiedLanguageModelLeavesNothingIgnored) {
  TempDir dir;
  const MambaLM lm(tiny_config(), 5);
  write_lm_checkpoint(lm, dir.file("tied.h5"));
  const auto model = classifier(tiny_config(), 6);
  const InitReport report = init_from_checkpoint(model->parameters(), dir.file("tied.h5"));
  EXPECT_TRUE(report.ignored.empty());
  EXPECT_EQ(report.loaded.size(), model->parameters().size() - 2);
}

TEST(InitFromCheckpoint, ShapeMismatchNamesTheParameterAndBothShapes) {
  TempDir dir;
  write_lm_checkpoint(MambaLM(untied(tiny_config(8)), 5), dir.file("wide.h5"));
  const auto model = classifier(tiny_config(4), 6);
  const std::string message = error_text([&] { init_from_checkpoint(model->parameters(), dir.file("wide.h5")); });
  EXPECT_TRUE(mentions(message, "train.init_from"));
  EXPECT_TRUE(mentions(message, "wide.h5"));
  EXPECT_TRUE(mentions(message, "embedding.weight"));
  EXPECT_TRUE(mentions(message, "[16, 8]")) << "the checkpoint's shape";
  EXPECT_TRUE(mentions(message, "[16, 4]")) << "the model's shape";
}

// A mismatch late in the list leaves the model as it was: nothing is half loaded.
TEST(InitFromCheckpoint, ShapeMismatchLoadsNothing) {
  TempDir dir;
  const MambaLM lm(untied(tiny_config()), 5);
  CheckpointWriter writer;
  for (const Parameter& p : lm.parameters())
    writer.put_tensor("model/" + p.name, p.name == "norm_f.weight" ? Tensor::zeros({5}, DType::F32) : p.value);
  writer.write(dir.file("bad_norm.h5"));
  const auto model = classifier(tiny_config(), 6);
  std::vector<std::vector<double>> before;
  for (const Parameter& p : model->parameters()) before.push_back(p.value.to_doubles());
  const std::string message =
      error_text([&] { init_from_checkpoint(model->parameters(), dir.file("bad_norm.h5")); });
  EXPECT_TRUE(mentions(message, "norm_f.weight"));
  EXPECT_TRUE(mentions(message, "[5]"));
  EXPECT_TRUE(mentions(message, "[4]"));
  for (size_t i = 0; i < before.size(); ++i)
    EXPECT_EQ(model->parameters()[i].value.to_doubles(), before[i]) << model->parameters()[i].name;
}

TEST(InitFromCheckpoint, MissingPathAndEmptyRunFolder) {
  TempDir dir;
  const auto model = classifier(tiny_config(), 6);
  const std::string missing = dir.file("nowhere.h5");
  const std::string message = error_text([&] { init_from_checkpoint(model->parameters(), missing); });
  EXPECT_TRUE(mentions(message, missing));
  EXPECT_TRUE(mentions(message, "does not exist"));

  const std::string run = dir.file("empty_run");
  std::filesystem::create_directories(run + "/checkpoints");
  const std::string empty = error_text([&] { init_from_checkpoint(model->parameters(), run); });
  EXPECT_TRUE(mentions(empty, run));
  EXPECT_TRUE(mentions(empty, "no checkpoint"));
  std::filesystem::remove_all(run + "/checkpoints");
  EXPECT_TRUE(mentions(error_text([&] { init_from_checkpoint(model->parameters(), run); }), "no checkpoint"));
}

TEST(InitFromCheckpoint, CheckpointSharingNoNameIsAnError) {
  TempDir dir;
  CheckpointWriter writer;
  writer.put_tensor("model/other.weight", Tensor::zeros({2, 2}, DType::F32));
  writer.write(dir.file("other.h5"));
  const auto model = classifier(tiny_config(), 6);
  EXPECT_TRUE(mentions(error_text([&] { init_from_checkpoint(model->parameters(), dir.file("other.h5")); }),
                       "shares no parameter"));
  checkpoint_testing::write_text(dir.file("junk.h5"), "not a checkpoint");
  EXPECT_THROW(init_from_checkpoint(model->parameters(), dir.file("junk.h5")), Error);
}

}  // namespace
}  // namespace krait::train
