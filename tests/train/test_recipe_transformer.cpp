// tests/train/test_recipe_transformer.cpp — `model.backbone: transformer` in recipes: its keys, the
// named sizes (and explicit keys overriding them), errors that name the file, line, key and backbone
// (a Mamba key under a transformer, a transformer key under mamba, an unknown size), the to_yaml round
// trip, and the shipped configs/transformer-125m.yaml.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/train/recipe_text.h"

namespace krait::train {
namespace {

using testing::error_of;
using testing::expect_same_recipe;
using testing::kMinimal;
using testing::kName;
using testing::Lines;
using testing::mentions;
using testing::plus;
using testing::text_of;
using testing::with_line;

const Lines kTransformer = {
    "model:",                  // 1
    "  backbone: transformer", // 2
    "  d_model: 64",           // 3
    "  n_layer: 2",            // 4
    "  n_head: 4",             // 5
    "  vocab_size: 257",       // 6
    "data:",                   // 7
    "  train: train.bin",      // 8
    "schedule:",               // 9
    "  total_steps: 100",      // 10
};

Recipe parse(const Lines& lines, const std::vector<std::string>& overrides = {}) {
  return parse_recipe(text_of(lines), kName, overrides);
}

TEST(TransformerRecipe, ReadsTheBackboneAndItsDefaults) {
  const Recipe recipe = parse(kTransformer);
  EXPECT_EQ(recipe.model.backbone, "transformer");
  TransformerConfig expected;
  expected.d_model = 64, expected.n_layer = 2, expected.n_head = 4, expected.vocab_size = 257;
  EXPECT_EQ(recipe.model.transformer, expected);
  EXPECT_EQ(recipe.model.transformer.d_ff, 0) << "auto";
  EXPECT_EQ(recipe.model.transformer.rope_theta, 10000.0);
  EXPECT_TRUE(recipe.model.transformer.tie_embeddings);
  EXPECT_EQ(recipe.model.mamba, MambaConfig{}) << "the other backbone's config keeps its defaults";
  EXPECT_EQ(recipe.model.vocab_size(), 257);
  EXPECT_EQ(recipe.model.d_model(), 64);
  EXPECT_EQ(recipe.model.n_layer(), 2);
}

TEST(TransformerRecipe, ReadsEveryKey) {
  const TransformerConfig t =
      parse(kTransformer, {"model.d_ff=96", "model.rope_theta=500000", "model.norm_eps=1e-6",
                           "model.tie_embeddings=false", "model.pad_vocab_size_multiple=64"})
          .model.transformer;
  EXPECT_EQ(t.d_ff, 96);
  EXPECT_EQ(t.rope_theta, 500000.0);
  EXPECT_EQ(t.norm_eps, 1e-6);
  EXPECT_FALSE(t.tie_embeddings);
  EXPECT_EQ(t.padded_vocab_size(), 320);
  EXPECT_EQ(parse(kTransformer, {"model.d_ff=auto"}).model.transformer.d_ff, 0);
}

TEST(TransformerRecipe, NamedSizesFillTheShapeAndExplicitKeysOverrideThem) {
  const Lines sized = {"model:", "  backbone: transformer", "  size: 125M", "  vocab_size: 50277",
                       "data:",  "  train: train.bin",      "schedule:",    "  total_steps: 100"};
  const TransformerConfig small = parse(sized).model.transformer;
  EXPECT_EQ(small.d_model, 768);
  EXPECT_EQ(small.n_layer, 12);
  EXPECT_EQ(small.n_head, 12);
  EXPECT_EQ(small.resolved_d_ff(), 2048);
  struct Row {
    const char* name;
    int64_t n_layer, d_model, n_head, d_ff;
  };
  for (const Row& row : {Row{"350M", 24, 1024, 16, 2816}, Row{"760M", 24, 1536, 16, 4096},
                         Row{"1.3B", 24, 2048, 32, 5504}}) {
    const TransformerConfig t = parse(sized, {std::string("model.size=") + row.name}).model.transformer;
    EXPECT_EQ(t.n_layer, row.n_layer) << row.name;
    EXPECT_EQ(t.d_model, row.d_model) << row.name;
    EXPECT_EQ(t.n_head, row.n_head) << row.name;
    EXPECT_EQ(t.resolved_d_ff(), row.d_ff) << row.name;
  }
  // A key given with the size wins, wherever it is written.
  const TransformerConfig shallow = parse(plus(sized, {"train:", "  seed: 1"}), {"model.n_layer=2"}).model.transformer;
  EXPECT_EQ(shallow.n_layer, 2);
  EXPECT_EQ(shallow.d_model, 768);
  EXPECT_EQ(parse(with_line(sized, 3, "  n_head: 6"), {"model.size=125M"}).model.transformer.n_head, 6);
}

TEST(TransformerRecipe, BackboneCanBeChosenByOverride) {
  // kMinimal's keys are shared by both backbones; the transformer needs n_head besides.
  const Recipe recipe = parse(kMinimal, {"model.backbone=transformer", "model.n_head=2"});
  EXPECT_EQ(recipe.model.transformer.d_model, 64);
  EXPECT_EQ(recipe.model.transformer.n_head, 2);
  EXPECT_EQ(recipe.model.transformer.vocab_size, 257);
}

TEST(TransformerRecipe, MambaKeysAreErrorsUnderATransformer) {
  for (const char* line : {"  d_state: 16", "  expand: 2", "  dt_rank: auto", "  selective: false", "  d_conv: 4"}) {
    const std::string message = error_of(testing::inserted(kTransformer, 7, line));
    const std::string key = std::string(line).substr(2, std::string(line).find(':') - 2);
    EXPECT_TRUE(mentions(message, "configs/x.yaml:7: unknown key 'model." + key + "'"));
    EXPECT_TRUE(mentions(message, "model.backbone is transformer"));
    EXPECT_TRUE(mentions(message, "n_head"));  // the allowed keys are listed
  }
}

TEST(TransformerRecipe, TransformerKeysAreErrorsUnderMamba) {
  for (const char* line : {"  n_head: 4", "  d_ff: 128", "  rope_theta: 10000", "  size: 125M"}) {
    const std::string message = error_of(testing::inserted(kMinimal, 5, line));
    const std::string key = std::string(line).substr(2, std::string(line).find(':') - 2);
    EXPECT_TRUE(mentions(message, "configs/x.yaml:5: unknown key 'model." + key + "'"));
    EXPECT_TRUE(mentions(message, "model.backbone is mamba"));
  }
}

TEST(TransformerRecipe, Errors) {
  EXPECT_TRUE(mentions(error_of(with_line(kTransformer, 5, "  size: 7B")),
                       "configs/x.yaml:5: model.size: expected one of 125M, 350M, 760M, 1.3B, got '7B'"));
  EXPECT_TRUE(mentions(error_of(with_line(kTransformer, 5, "  d_ff: 128")), "missing required key 'model.n_head'"));
  EXPECT_TRUE(mentions(error_of(with_line(kTransformer, 6, "  rope_theta: 1e4")),
                       "missing required key 'model.vocab_size'"));
  EXPECT_TRUE(mentions(error_of(with_line(kTransformer, 5, "  n_head: 5")),
                       "configs/x.yaml:5: model.n_head (5) must divide model.d_model (64)"));
  // 64 / 64 heads = width 1: not a whole number of rotary pairs.
  EXPECT_TRUE(mentions(error_of(with_line(kTransformer, 5, "  n_head: 64")), "even width"));
  EXPECT_TRUE(mentions(error_of(kTransformer, {"model.rope_theta=0"}),
                       "--set model.rope_theta=0: model.rope_theta must be > 0 (got 0)"));
  EXPECT_TRUE(mentions(error_of(kTransformer, {"model.d_ff=-1"}), "model.d_ff must be > 0 or auto (got -1)"));
  EXPECT_TRUE(mentions(error_of(kTransformer, {"model.n_head=0"}), "model.n_head must be > 0 (got 0)"));
  EXPECT_TRUE(mentions(error_of(kTransformer, {"model.d_ff=wide"}), "model.d_ff: expected an integer or auto"));
}

TEST(TransformerRecipe, ToYamlRoundTrips) {
  const Recipe defaults = parse(kTransformer);
  const std::string yaml = to_yaml(defaults);
  EXPECT_TRUE(mentions(yaml, "backbone: transformer"));
  EXPECT_TRUE(mentions(yaml, "d_ff: auto  # = 256"));
  EXPECT_TRUE(mentions(yaml, "n_head: 4  # heads of 16"));
  EXPECT_EQ(yaml.find("d_state"), std::string::npos) << yaml;
  const Recipe again = parse_recipe(yaml, "resolved.yaml");
  expect_same_recipe(again, defaults);
  EXPECT_EQ(to_yaml(again), yaml);

  Recipe every = defaults;
  TransformerConfig& t = every.model.transformer;
  t.d_model = 96, t.n_layer = 3, t.n_head = 6, t.d_ff = 200, t.vocab_size = 1001, t.pad_vocab_size_multiple = 16;
  t.rope_theta = 123456.5, t.norm_eps = 3e-6, t.tie_embeddings = false;
  every.model.task = Task::Classify, every.model.num_classes = 3, every.model.pool = ops::PoolMode::Last;
  every.data.format = DataFormat::Hdf5;
  every.validate();
  expect_same_recipe(parse_recipe(to_yaml(every), "resolved.yaml"), every);

  // A named size is written as its three fields, with the name as a comment.
  const Recipe sized = parse(with_line(kTransformer, 3, "  size: 350M"), {"model.d_model=1024", "model.n_layer=24",
                                                                            "model.n_head=16"});
  const std::string sized_yaml = to_yaml(sized);
  EXPECT_TRUE(mentions(sized_yaml, "d_model: 1024  # size 350M"));
  expect_same_recipe(parse_recipe(sized_yaml, "resolved.yaml"), sized);
}

TEST(TransformerRecipe, Transformer125mConfigLoads) {
  const std::string path =
      (std::filesystem::path(__FILE__).parent_path() / "../../configs/transformer-125m.yaml").string();
  const Recipe recipe = load_recipe(path);
  EXPECT_EQ(recipe.model.backbone, "transformer");
  const TransformerConfig& t = recipe.model.transformer;
  EXPECT_EQ(t.d_model, 768);
  EXPECT_EQ(t.n_layer, 12);
  EXPECT_EQ(t.n_head, 12);
  EXPECT_EQ(t.resolved_d_ff(), 2048);
  EXPECT_EQ(t.padded_vocab_size(), 50280);
  EXPECT_TRUE(t.tie_embeddings);
  EXPECT_EQ(recipe.optim.lr, 3e-3);
  EXPECT_EQ(recipe.optim.beta2, 0.95);
  EXPECT_EQ(recipe.optim.weight_decay, 0.1);
  EXPECT_EQ(recipe.schedule.min_lr, 1e-5);
  EXPECT_EQ(recipe.tokens_per_step(), 524288);
  EXPECT_EQ(recipe.total_steps(), 4769);
  EXPECT_EQ(recipe.train.precision, Precision::BF16);
}

}  // namespace
}  // namespace krait::train
