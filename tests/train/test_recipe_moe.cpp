// tests/train/test_recipe_moe.cpp — `model.backbone: moe-mamba` in recipes: its moe_* keys with the
// paper's defaults and Mamba's keys beside them, errors naming the file, line and key (an moe key under
// mamba, a missing moe_experts, top_k past the experts), the to_yaml round trip, and the shipped
// configs/moe recipes.
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
using testing::text_of;

const Lines kMoe = {
    "model:",                 // 1
    "  backbone: moe-mamba",  // 2
    "  d_model: 64",          // 3
    "  n_layer: 2",           // 4
    "  vocab_size: 257",      // 5
    "  moe_experts: 8",       // 6
    "data:",                  // 7
    "  train: train.bin",     // 8
    "schedule:",              // 9
    "  total_steps: 100",     // 10
};

Recipe parse(const Lines& lines, const std::vector<std::string>& overrides = {}) {
  return parse_recipe(text_of(lines), kName, overrides);
}

TEST(MoeRecipe, ReadsTheKeysWithThePapersDefaults) {
  const Recipe recipe = parse(kMoe, {"model.d_state=8"});
  EXPECT_EQ(recipe.model.backbone, "moe-mamba");
  const MoeConfig& moe = recipe.model.mamba.moe;
  EXPECT_EQ(moe.experts, 8);
  EXPECT_EQ(moe.top_k, 1);
  EXPECT_EQ(moe.capacity_factor, 1.0);
  EXPECT_EQ(moe.aux_weight, 0.01);
  EXPECT_EQ(moe.resolved_hidden(64), 192);
  EXPECT_EQ(recipe.model.mamba.d_state, 8) << "Mamba's keys apply to moe-mamba";
  const MoeConfig every = parse(kMoe, {"model.moe_top_k=2", "model.moe_capacity_factor=1.25",
                                       "model.moe_aux_weight=0.02", "model.moe_hidden=100"})
                              .model.mamba.moe;
  EXPECT_EQ(every.top_k, 2);
  EXPECT_EQ(every.capacity_factor, 1.25);
  EXPECT_EQ(every.aux_weight, 0.02);
  EXPECT_EQ(every.hidden, 100);
}

TEST(MoeRecipe, Errors) {
  const std::string under_mamba = error_of(testing::inserted(kMinimal, 5, "  moe_experts: 4"));
  EXPECT_TRUE(mentions(under_mamba, "configs/x.yaml:5: unknown key 'model.moe_experts'"));
  EXPECT_TRUE(mentions(under_mamba, "model.backbone is mamba"));
  EXPECT_TRUE(mentions(error_of(kMinimal, {"model.backbone=moe-mamba"}), "missing required key 'model.moe_experts'"));
  EXPECT_TRUE(mentions(error_of(kMoe, {"model.moe_top_k=9"}), "model.moe_top_k must be in 1..model.moe_experts (8)"));
  EXPECT_TRUE(mentions(error_of(kMoe, {"model.moe_experts=0"}), "model.moe_experts must be >= 1 (got 0)"));
  EXPECT_TRUE(mentions(error_of(kMoe, {"model.moe_capacity_factor=0"}), "model.moe_capacity_factor must be > 0"));
  EXPECT_TRUE(mentions(error_of(kMoe, {"model.moe_aux_weight=-1"}), "model.moe_aux_weight must be >= 0"));
  EXPECT_TRUE(mentions(error_of(kMoe, {"model.moe_hidden=wide"}), "model.moe_hidden: expected an integer or auto"));
}

// Expert parallelism: the experts must split evenly over the ranks, and ZeRO-1 is refused with it; one
// rank runs such a recipe unsharded.
TEST(MoeRecipe, ExpertParallelChecksTheRanks) {
  const auto error_on = [](int world, const std::vector<std::string>& overrides) -> std::string {
    try {
      parse_recipe(text_of(kMoe), kName, overrides, world);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  const std::vector<std::string> on = {"model.moe_expert_parallel=true", "data.batch_size=24"};
  EXPECT_EQ(parse(kMoe, {"model.moe_expert_parallel=true"}).model.mamba.moe.expert_parallel, true);
  EXPECT_EQ(error_on(2, on), "");
  EXPECT_TRUE(mentions(error_on(3, on), "model.moe_experts must be a multiple of the 3 ranks with "
                                        "model.moe_expert_parallel (got 8)"));
  std::vector<std::string> zero1 = on;
  zero1.push_back("train.zero1=true");
  EXPECT_TRUE(mentions(error_on(2, zero1), "model.moe_expert_parallel and train.zero1 together are not supported"));
  EXPECT_EQ(error_on(3, {"data.batch_size=24"}), "") << "without expert parallelism any world size";
}

TEST(MoeRecipe, ToYamlRoundTrips) {
  const Recipe defaults = parse(kMoe);
  const std::string yaml = to_yaml(defaults);
  EXPECT_TRUE(mentions(yaml, "backbone: moe-mamba"));
  EXPECT_TRUE(mentions(yaml, "moe_hidden: auto  # = 192"));
  expect_same_recipe(parse_recipe(yaml, "resolved.yaml"), defaults);
  const Recipe every = parse(kMoe, {"model.moe_top_k=2", "model.moe_capacity_factor=1.5", "model.moe_hidden=77",
                                    "model.moe_expert_parallel=true"});
  expect_same_recipe(parse_recipe(to_yaml(every), "resolved.yaml"), every);
}

TEST(MoeRecipe, ShippedConfigsLoad) {
  const std::filesystem::path configs = std::filesystem::path(__FILE__).parent_path() / "../../configs/moe";
  for (const char* name : {"tiny-cpu.yaml", "moe-mamba-100m.yaml", "english-moe-mamba.yaml", "english-mamba.yaml"}) {
    SCOPED_TRACE(name);
    const Recipe recipe = load_recipe((configs / name).string());
    EXPECT_TRUE(recipe.model.backbone == "moe-mamba" || recipe.model.backbone == "mamba");
  }
}

}  // namespace
}  // namespace krait::train
