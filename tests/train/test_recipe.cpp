// tests/train/test_recipe.cpp — recipes that load: defaults, resolved fields, overrides, the
// to_yaml round trip and the shipped configs.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/data/temp_dir.h"
#include "tests/train/recipe_text.h"

namespace krait::train {
namespace {

using testing::error_of;
using testing::expect_same_model;
using testing::expect_same_recipe;
using testing::kMinimal;
using testing::kName;
using testing::mentions;
using testing::plus;
using testing::text_of;
using testing::with_line;

// The repository's configs/ folder, found from this file's path.
std::string config_path(const std::string& name) {
  return (std::filesystem::path(__FILE__).parent_path() / "../../configs" / name).string();
}

Recipe parse(const testing::Lines& lines, const std::vector<std::string>& overrides = {}) {
  return parse_recipe(text_of(lines), kName, overrides);
}

TEST(Recipe, MinimalRecipeTakesDefaults) {
  const Recipe recipe = parse(kMinimal);
  MambaConfig model;
  model.d_model = 64;
  model.n_layer = 2;
  model.vocab_size = 257;
  expect_same_model(recipe.model.mamba, model);
  DataSection data;
  data.train = "train.bin";
  EXPECT_EQ(recipe.data, data);
  EXPECT_EQ(recipe.optim, OptimSection{});
  ScheduleSection schedule;
  schedule.total_steps = 100;
  EXPECT_EQ(recipe.schedule, schedule);
  EXPECT_EQ(recipe.train, TrainSection{});
  EXPECT_EQ(recipe.eval, EvalSection{});
  EXPECT_EQ(recipe.total_steps(), 100);
  EXPECT_EQ(recipe.micro_batch(), 16);
  EXPECT_EQ(recipe.grad_accum(), 1);
  EXPECT_EQ(recipe.eval_batch_size(), 16);
  EXPECT_EQ(recipe.device(), Device::cpu());
}

TEST(Recipe, ReadsEveryKindOfField) {
  const Recipe recipe = parse(plus(
      kMinimal,
      {"  warmup_steps: 10", "  min_lr: 1e-5", "  decay: linear", "optim:", "  lr: 3.0e-3",
       "  betas: [0.8, 0.99]", "  grad_clip: 0", "train:", "  device: cuda:1", "  precision: bf16",
       "  on_nonfinite: skip", "  run_dir: out", "eval:", "  max_batches: 7", "  batch_size: 4"}));
  EXPECT_EQ(recipe.schedule.warmup_steps, 10);
  EXPECT_EQ(recipe.schedule.min_lr, 1e-5);
  EXPECT_EQ(recipe.schedule.decay, LrDecay::Linear);
  EXPECT_EQ(recipe.optim.lr, 3e-3);
  EXPECT_EQ(recipe.optim.beta1, 0.8);
  EXPECT_EQ(recipe.optim.beta2, 0.99);
  EXPECT_EQ(recipe.optim.grad_clip, 0.0);
  EXPECT_EQ(recipe.device(), Device::cuda(1));
  EXPECT_EQ(recipe.train.precision, Precision::BF16);
  EXPECT_EQ(recipe.train.on_nonfinite, OnNonFinite::Skip);
  EXPECT_EQ(recipe.train.run_dir, "out");
  EXPECT_EQ(recipe.eval.max_batches, 7);
  EXPECT_EQ(recipe.eval_batch_size(), 4);
}

TEST(Recipe, DtRankTakesAutoOrAnInteger) {
  EXPECT_EQ(parse(kMinimal).model.mamba.dt_rank, 0);
  const Recipe automatic = parse(kMinimal, {"model.dt_rank=auto"});
  EXPECT_EQ(automatic.model.mamba.dt_rank, 0);
  EXPECT_EQ(automatic.model.mamba.resolved_dt_rank(), 4);
  EXPECT_EQ(parse(kMinimal, {"model.dt_rank=6"}).model.mamba.dt_rank, 6);
}

TEST(Recipe, TotalTokensRoundUpToWholeSteps) {
  // 4 sequences x 8 tokens = 32 tokens per step.
  const std::vector<std::string> small_steps = {"data.seq_len=8", "data.batch_size=4"};
  const Recipe exact = parse(with_line(kMinimal, 8, "  total_tokens: 96"), small_steps);
  EXPECT_FALSE(exact.schedule.total_steps.has_value());
  EXPECT_EQ(exact.schedule.total_tokens, 96);
  EXPECT_EQ(exact.total_steps(), 3);
  EXPECT_EQ(parse(with_line(kMinimal, 8, "  total_tokens: 97"), small_steps).total_steps(), 4);
  // Exact integers may be written in exponent form.
  const Recipe big = parse(with_line(kMinimal, 8, "  total_tokens: 2.5e9"));
  EXPECT_EQ(big.schedule.total_tokens, 2'500'000'000);
  EXPECT_EQ(big.total_steps(), 610'352);  // 2.5e9 / (16 x 256), rounded up
}

TEST(Recipe, AutoBatchSplitSolvesForTheMissingFactor) {
  const std::vector<std::string> batch32 = {"data.batch_size=32"};
  const Recipe both_auto = parse(kMinimal, batch32);
  EXPECT_EQ(both_auto.micro_batch(), 32);
  EXPECT_EQ(both_auto.grad_accum(), 1);
  EXPECT_EQ(both_auto.micro_batch(4), 8);
  EXPECT_EQ(both_auto.grad_accum(4), 1);

  const Recipe micro = parse(kMinimal, {"data.batch_size=32", "train.micro_batch=4"});
  EXPECT_EQ(micro.train.grad_accum, 0);
  EXPECT_EQ(micro.grad_accum(), 8);
  EXPECT_EQ(micro.grad_accum(2), 4);
  EXPECT_EQ(micro.eval_batch_size(), 4);

  const Recipe accum = parse(kMinimal, {"data.batch_size=32", "train.grad_accum=2"});
  EXPECT_EQ(accum.micro_batch(), 16);
  EXPECT_EQ(accum.micro_batch(2), 8);

  const Recipe both =
      parse(kMinimal, {"data.batch_size=32", "train.micro_batch=8", "train.grad_accum=auto"});
  EXPECT_EQ(both.grad_accum(), 4);
}

TEST(Recipe, ValidateChecksTheWorldSize) {
  const std::vector<std::string> split = {"data.batch_size=32", "train.micro_batch=8",
                                          "train.grad_accum=2"};
  EXPECT_TRUE(mentions(error_of(kMinimal, split), "--set train.micro_batch=8: data.batch_size"));
  Recipe recipe = parse_recipe(text_of(kMinimal), kName, split, 2);
  EXPECT_NO_THROW(recipe.validate(2));
  EXPECT_THROW(recipe.validate(1), Error);
  // Without a file the message has no location, only the key paths.
  recipe.model.mamba.d_model = -1;
  try {
    recipe.validate(2);
    ADD_FAILURE() << "expected a krait::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "model.d_model must be > 0 (got -1)");
  }
}

TEST(Recipe, OverridesApplyInOrder) {
  const Recipe recipe =
      parse(kMinimal, {"model.d_model=128", "optim.betas=[0.9,0.99]", "eval.max_batches=5",
                       "model.d_model=96", "data={train: other.bin, seq_len: 32}"});
  EXPECT_EQ(recipe.model.mamba.d_model, 96);
  EXPECT_EQ(recipe.model.mamba.n_layer, 2);
  EXPECT_EQ(recipe.optim.beta2, 0.99);
  EXPECT_EQ(recipe.eval.max_batches, 5);
  EXPECT_EQ(recipe.data.train, "other.bin");
  EXPECT_EQ(recipe.data.seq_len, 32);
  // An override can supply what the file lacks.
  EXPECT_EQ(parse(with_line(kMinimal, 6, "  seq_len: 64"), {"data.train=x.bin"}).data.train,
            "x.bin");
}

TEST(Recipe, ToYamlRoundTripsDefaults) {
  const Recipe recipe = parse(kMinimal);
  const std::string yaml = to_yaml(recipe);
  const Recipe again = parse_recipe(yaml, "resolved.yaml");
  expect_same_recipe(again, recipe);
  EXPECT_EQ(to_yaml(again), yaml);
  EXPECT_TRUE(mentions(yaml, "dt_rank: auto  # = 4"));
  EXPECT_TRUE(mentions(yaml, "grad_accum: auto  # = 1 on one rank"));
}

TEST(Recipe, ToYamlRoundTripsEveryField) {
  Recipe recipe;
  MambaConfig& m = recipe.model.mamba;
  m.d_model = 48, m.n_layer = 3, m.vocab_size = 1000, m.d_state = 8, m.d_conv = 3, m.expand = 3;
  m.dt_rank = 5, m.dt_min = 0.002, m.dt_max = 0.2, m.dt_init_floor = 3e-4, m.dt_scale = 0.5;
  m.conv_bias = false, m.bias = true, m.pad_vocab_size_multiple = 16, m.tie_embeddings = false;
  m.norm_eps = 1e-6, m.selective = Selectivity(true, false, true), m.conv = false, m.gate = false;
  m.a_init = AInit::S4DLinReal;
  recipe.model.task = Task::Classify, recipe.model.num_classes = 5, recipe.model.pool = ops::PoolMode::Last;
  recipe.data = {"a b/train.bin", "#valid: x.bin", 100, 24, DataFormat::Wav, "labels: x.tsv", LabelBy::Record, true,
                 8000, true, AudioQuantize::Linear, 12, AudioLabels::Manifest, 16000, "induction-heads", 8, 77, ""};
  recipe.optim = {0.1 + 0.2, 0.85, 0.975, 1e-9, 0.01, 0.5};
  recipe.schedule.warmup_steps = 7;
  recipe.schedule.total_tokens = 123457;
  recipe.schedule.min_lr = 1e-7;
  recipe.schedule.decay = LrDecay::Constant;
  recipe.train = {42, "cuda:3", 6, 2, 11, 13, "null", 4, 5, Precision::BF16, OnNonFinite::Skip, 9, "runs/pre #1",
                  {"embedding.*", "layers.0.*"}, 77, true};
  recipe.eval = {3, 12};
  recipe.validate(2);

  const Recipe again = parse_recipe(to_yaml(recipe), "resolved.yaml", {}, 2);
  expect_same_recipe(again, recipe);
  EXPECT_EQ(again.total_steps(), 52);  // 123457 / 2400, rounded up
}

// The paper's ablations: selective as true, false or a list (in any order, written back in the order
// delta, B, C), conv, gate and a_init; each written back so that it reads the same.
TEST(Recipe, AblationKeys) {
  const MambaConfig defaults = parse(kMinimal).model.mamba;
  EXPECT_TRUE(defaults.selective.all());
  EXPECT_TRUE(defaults.conv);
  EXPECT_TRUE(defaults.gate);
  EXPECT_EQ(defaults.a_init, AInit::S4DReal);
  EXPECT_TRUE(parse(kMinimal, {"model.selective=false"}).model.mamba.selective.none());
  EXPECT_TRUE(parse(kMinimal, {"model.selective=[]"}).model.mamba.selective.none());
  EXPECT_TRUE(parse(kMinimal, {"model.selective=[C, B, delta]"}).model.mamba.selective.all());
  EXPECT_EQ(parse(testing::inserted(kMinimal, 5, "  selective: [C, delta]")).model.mamba.selective,
            Selectivity(true, false, true));
  const MambaConfig ablated =
      parse(kMinimal, {"model.conv=false", "model.gate=false", "model.a_init=random"}).model.mamba;
  EXPECT_FALSE(ablated.conv);
  EXPECT_FALSE(ablated.gate);
  EXPECT_EQ(ablated.a_init, AInit::Random);
  EXPECT_EQ(parse(kMinimal, {"model.a_init=s4d_lin_real"}).model.mamba.a_init, AInit::S4DLinReal);

  const std::string yaml = to_yaml(parse(kMinimal));
  for (const char* line : {"selective: true", "conv: true", "gate: true", "a_init: s4d_real"})
    EXPECT_TRUE(mentions(yaml, line));
  EXPECT_TRUE(mentions(to_yaml(parse(kMinimal, {"model.selective=false"})), "selective: false"));
  EXPECT_TRUE(mentions(to_yaml(parse(kMinimal, {"model.selective=[C, delta]"})), "selective: [delta, C]"));
  for (int mask = 0; mask < 8; ++mask) {
    Recipe recipe = parse(kMinimal);
    recipe.model.mamba.selective = Selectivity(bool(mask & 1), bool(mask & 2), bool(mask & 4));
    EXPECT_EQ(parse_recipe(to_yaml(recipe), "resolved.yaml").model.mamba.selective, recipe.model.mamba.selective)
        << to_yaml(recipe);
  }
}

TEST(Recipe, WriteResolvedRecipe) {
  data::testing::TempDir dir;
  const std::string path = dir.file("run/sub/recipe.yaml");
  const Recipe recipe = parse(kMinimal, {"train.micro_batch=4"});
  write_resolved_recipe(recipe, path);
  expect_same_recipe(load_recipe(path), recipe);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(Recipe, QuickstartConfigLoads) {
  const Recipe recipe = load_recipe(config_path("quickstart.yaml"));
  EXPECT_EQ(recipe.model.mamba.vocab_size, 257);
  EXPECT_EQ(recipe.model.mamba.padded_vocab_size(), 264);
  EXPECT_EQ(recipe.data.train, "runs/data/kjv/train.bin");
  EXPECT_EQ(recipe.data.valid, "runs/data/kjv/valid.bin");
  EXPECT_EQ(recipe.train.run_dir, "runs/quickstart");
  EXPECT_EQ(recipe.device(), Device::cpu());
  EXPECT_EQ(recipe.grad_accum(), 1);
  EXPECT_GT(recipe.total_steps(), 0);
}

TEST(Recipe, Mamba130mConfigLoads) {
  const Recipe recipe = load_recipe(config_path("mamba-130m.yaml"));
  EXPECT_EQ(recipe.model.mamba.d_model, 768);
  EXPECT_EQ(recipe.model.mamba.n_layer, 24);
  EXPECT_EQ(recipe.model.mamba.padded_vocab_size(), 50280);
  EXPECT_EQ(recipe.model.mamba.resolved_dt_rank(), 48);
  EXPECT_FALSE(recipe.model.mamba.bias);
  EXPECT_EQ(recipe.tokens_per_step(), 524288);
  EXPECT_EQ(recipe.total_steps(), 4769);
  EXPECT_EQ(recipe.optim.lr, 3e-3);
  EXPECT_EQ(recipe.schedule.min_lr, 1e-5);
  EXPECT_EQ(recipe.train.precision, Precision::BF16);
  EXPECT_EQ(recipe.device(), Device::cuda(0));
  EXPECT_EQ(recipe.grad_accum(1), 16);
  EXPECT_EQ(recipe.grad_accum(8), 2);
  // Overrides apply to shipped configs too.
  EXPECT_EQ(load_recipe(config_path("mamba-130m.yaml"), {"train.device=cpu"}).device(),
            Device::cpu());
}

}  // namespace
}  // namespace krait::train
