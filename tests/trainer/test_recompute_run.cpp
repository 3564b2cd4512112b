// train.recompute in the training loop: a run with per-layer recomputation logs the same losses and
// ends at the same weights, bit for bit, as the run without it, and a run may switch it on when it
// resumes (no --allow-recipe-change needed: it changes no number).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/trainer/checkpoint_compare.h"
#include "tests/trainer/run_fixture.h"
#include "train/recipe_change.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace krait::train {
namespace {

// Each train record's loss field, as logged.
std::vector<std::string> logged_losses(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<std::string> losses;
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"kind\":\"train\"") == std::string::npos) continue;
    const size_t at = line.find("\"loss\":");
    losses.push_back(line.substr(at, line.find(',', at) - at));
  }
  return losses;
}

TEST(RecomputeRun, SameLossesAndWeightsAsWithout) {
  testing::RunFixture fx("recompute-run");
  std::ostringstream progress;
  const Recipe plain = load_recipe(fx.recipe("plain", 12));
  const Recipe recomputed = load_recipe(fx.recipe("recomputed", 12), {"train.recompute=true"});
  ASSERT_TRUE(recomputed.train.recompute);
  Trainer(plain, progress).run();
  Trainer(recomputed, progress).run();
  const std::vector<std::string> losses = logged_losses(plain.train.run_dir);
  EXPECT_EQ(losses.size(), 12u);
  EXPECT_EQ(logged_losses(recomputed.train.run_dir), losses);
  testing::expect_identical_checkpoints(checkpoint_path(plain.train.run_dir, 12), checkpoint_path(recomputed.train.run_dir, 12));
}

TEST(RecomputeRun, ResumeMaySwitchItOn) {
  testing::RunFixture fx("recompute-resume");
  std::ostringstream progress;
  const Recipe straight = load_recipe(fx.recipe("straight", 12));
  Trainer(straight, progress).run();
  const Recipe interrupted = load_recipe(fx.recipe("switched", 12));
  Trainer(interrupted, progress).run();
  std::filesystem::remove(checkpoint_path(interrupted.train.run_dir, 12));
  const Recipe switched = load_recipe(fx.recipe("switched", 12), {"train.recompute=true"});
  std::ostringstream resumed_progress;
  const TrainSummary resumed = Trainer(switched, resumed_progress).run();
  EXPECT_EQ(resumed.first_step, 10);
  EXPECT_EQ(resumed_progress.str().find("recipe changed"), std::string::npos) << resumed_progress.str();
  testing::expect_identical_checkpoints(checkpoint_path(straight.train.run_dir, 12), checkpoint_path(switched.train.run_dir, 12));
  EXPECT_TRUE(recipe_changes(to_yaml(interrupted), to_yaml(switched)).empty());
}

}  // namespace
}  // namespace krait::train
