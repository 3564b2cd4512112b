// Resuming with a changed recipe: refused naming the changed keys (old -> new), accepted for run-length,
// interval and lr-schedule keys only with --allow-recipe-change and then recorded in RUN_DIR/recipe-history/,
// refused even with the flag for the model; a run length below the checkpoint's step is an error naming
// both; an unchanged recipe resumes silently.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/trainer/run_fixture.h"
#include "tests/trainer/spawn.h"
#include "train/checkpoint_file.h"
#include "train/run_dir.h"

namespace krait::train {
namespace {

namespace fs = std::filesystem;
using testing::read_output;
using testing::spawn_train;
using testing::wait_exit_code;

const std::vector<std::string> kAllow{"--allow-recipe-change"};

// A run of 20 steps as if killed after its step-10 checkpoint; returns the run directory.
std::string interrupted_run(const testing::RunFixture& fx, const std::string& name) {
  EXPECT_EQ(wait_exit_code(spawn_train(fx.recipe(name, 20), {}, "/dev/null")), 0);
  fs::remove(checkpoint_path(fx.run_dir(name), 20));
  fs::remove(fs::path(fx.run_dir(name)) / "summary.json");
  return fx.run_dir(name);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(RecipeChange, ChangedLrWithoutTheFlagIsRefusedNamingTheKey) {
  testing::RunFixture fx("recipe-lr");
  const std::string run_dir = interrupted_run(fx, "run"), output = (fx.dir() / "output.txt").string();
  EXPECT_EQ(wait_exit_code(spawn_train(fx.recipe("run", 20), {"optim.lr=0.02"}, output)), 1);
  const std::string text = read_output(output);
  EXPECT_TRUE(contains(text, "optim.lr: 0.01 -> 0.02")) << text;
  EXPECT_TRUE(contains(text, checkpoint_path(run_dir, 10))) << text;
  EXPECT_TRUE(contains(text, "--allow-recipe-change")) << text;
  EXPECT_FALSE(fs::exists(checkpoint_path(run_dir, 20)));
  EXPECT_TRUE(contains(read_output(run_dir + "/recipe.yaml"), "lr: 0.01\n"));
  EXPECT_FALSE(fs::exists(fs::path(run_dir) / "recipe-history"));
}

TEST(RecipeChange, ChangedModelIsRefusedEvenWithTheFlag) {
  testing::RunFixture fx("recipe-model");
  const std::string run_dir = interrupted_run(fx, "run"), output = (fx.dir() / "output.txt").string();
  EXPECT_EQ(wait_exit_code(spawn_train(fx.recipe("run", 20), {"model.d_model=32"}, output, kAllow)), 1);
  const std::string text = read_output(output);
  EXPECT_TRUE(contains(text, "model.d_model: 16 -> 32")) << text;
  EXPECT_TRUE(contains(text, "even with --allow-recipe-change")) << text;
  EXPECT_FALSE(fs::exists(checkpoint_path(run_dir, 20)));
}

TEST(RecipeChange, LongerRunWithTheFlagResumesRecordsTheHistoryAndTrainsToTheNewEnd) {
  testing::RunFixture fx("recipe-longer");
  const std::string run_dir = interrupted_run(fx, "run"), output = (fx.dir() / "output.txt").string();
  ASSERT_EQ(wait_exit_code(spawn_train(fx.recipe("run", 30), {}, output, kAllow)), 0) << read_output(output);
  EXPECT_TRUE(contains(read_output(output), "recipe changed on resume at step 10: schedule.total_steps: 20 -> 30"))
      << read_output(output);
  EXPECT_EQ(CheckpointReader(checkpoint_path(run_dir, 30)).get_int("state/step"), 30);

  const std::string history = run_dir + "/recipe-history/recipe-step-00000010.yaml";
  EXPECT_TRUE(contains(read_output(history), "total_steps: 20")) << read_output(history);
  EXPECT_TRUE(contains(read_output(run_dir + "/recipe-history/changes.log"),
                       "step 10: schedule.total_steps: 20 -> 30 (the recipe before: "
                       "recipe-history/recipe-step-00000010.yaml)"));
  // recipe.yaml describes the new recipe and names the old one, also after a later silent restart.
  for (int run = 0; run < 2; ++run) {
    const std::string recipe = read_output(run_dir + "/recipe.yaml");
    EXPECT_TRUE(contains(recipe, "total_steps: 30")) << recipe;
    EXPECT_TRUE(contains(recipe, "recipe-history/recipe-step-00000010.yaml")) << recipe;
    if (run == 0) {
      ASSERT_EQ(wait_exit_code(spawn_train(fx.recipe("run", 30), {}, output)), 0) << read_output(output);
    }
  }
}

TEST(RecipeChange, RunLengthBelowTheCheckpointsStepIsAnError) {
  testing::RunFixture fx("recipe-shorter");
  const std::string run_dir = interrupted_run(fx, "run"), output = (fx.dir() / "output.txt").string();
  for (const auto& extra : {std::vector<std::string>{}, kAllow}) {
    EXPECT_EQ(wait_exit_code(spawn_train(fx.recipe("run", 5), {}, output, extra)), 1);
    const std::string text = read_output(output);
    EXPECT_TRUE(contains(text, "schedule.total_steps = 5 is below step 10 of checkpoint '" +
                                   checkpoint_path(run_dir, 10) + "'"))
        << text;
    EXPECT_FALSE(contains(text, "train loss nan")) << text;
  }
}

TEST(RecipeChange, UnchangedRecipeResumesSilently) {
  testing::RunFixture fx("recipe-same");
  const std::string run_dir = interrupted_run(fx, "run"), output = (fx.dir() / "output.txt").string();
  ASSERT_EQ(wait_exit_code(spawn_train(fx.recipe("run", 20), {}, output)), 0) << read_output(output);
  EXPECT_FALSE(contains(read_output(output), "recipe changed")) << read_output(output);
  EXPECT_TRUE(fs::exists(checkpoint_path(run_dir, 20)));
  EXPECT_FALSE(fs::exists(fs::path(run_dir) / "recipe-history"));
  EXPECT_FALSE(contains(read_output(run_dir + "/recipe.yaml"), "recipe-history"));
}

}  // namespace
}  // namespace krait::train
