// The training loop in process: loss falls, metrics and checkpoints are written, resuming continues
// where the run stopped, and non-finite losses stop (or are skipped) as the recipe says.
#include <gtest/gtest.h>

#include <sstream>

#include "common/error.h"
#include "tests/trainer/checkpoint_compare.h"
#include "tests/trainer/run_fixture.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace krait::train {
namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

int count_with(const std::vector<std::string>& lines, const std::string& needle) {
  int n = 0;
  for (const auto& l : lines) n += l.find(needle) != std::string::npos;
  return n;
}

TEST(Trainer, LossFallsAndRunDirectoryIsComplete) {
  testing::RunFixture fx("trainer-basic");
  const Recipe recipe = load_recipe(fx.recipe("basic", 40), {"optim.lr=0.02"});
  std::ostringstream progress;
  const TrainSummary s = Trainer(recipe, progress).run();
  EXPECT_EQ(s.first_step, 0);
  EXPECT_EQ(s.last_step, 40);
  // Byte-level text: a fresh model is near ln(264) = 5.6 nats; 40 steps learn the byte frequencies.
  EXPECT_LT(s.final_train_loss, 3.6) << progress.str();
  EXPECT_LT(s.final_eval_loss, 3.6) << progress.str();
  const auto metrics = lines_of(recipe.train.run_dir + "/metrics.jsonl");
  EXPECT_EQ(count_with(metrics, "\"kind\":\"train\""), 40);
  EXPECT_EQ(count_with(metrics, "\"kind\":\"eval\""), 4);
  EXPECT_NE(progress.str().find("tok/s"), std::string::npos);
  EXPECT_NE(progress.str().find("ETA"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(recipe.train.run_dir + "/recipe.yaml"));
  // keep_checkpoints defaults to 3: steps 20, 30, 40 remain.
  EXPECT_EQ(latest_checkpoint(recipe.train.run_dir), checkpoint_path(recipe.train.run_dir, 40));
  EXPECT_FALSE(std::filesystem::exists(checkpoint_path(recipe.train.run_dir, 10)));
  EXPECT_TRUE(std::filesystem::exists(checkpoint_path(recipe.train.run_dir, 20)));
}

TEST(Trainer, ResumeContinuesToTheSameWeights) {
  testing::RunFixture fx("trainer-resume");
  std::ostringstream progress;
  const Recipe straight = load_recipe(fx.recipe("straight", 30));
  Trainer(straight, progress).run();
  // The same recipe stopped at 20 (a shorter total changes the schedule, so the interrupted run uses
  // the full recipe and we remove its late checkpoints instead).
  const Recipe interrupted = load_recipe(fx.recipe("interrupted", 30));
  Trainer(interrupted, progress).run();
  std::filesystem::remove(checkpoint_path(interrupted.train.run_dir, 30));
  const TrainSummary resumed = Trainer(interrupted, progress).run();
  EXPECT_EQ(resumed.first_step, 20);
  testing::expect_identical_checkpoints(checkpoint_path(straight.train.run_dir, 30),
                                        checkpoint_path(interrupted.train.run_dir, 30));
  const auto metrics = lines_of(interrupted.train.run_dir + "/metrics.jsonl");
  EXPECT_EQ(count_with(metrics, "\"kind\":\"train\""), 30) << "records after the checkpoint are replaced, not repeated";
}

TEST(Trainer, NonFiniteLossStopsWithTheStep) {
  testing::RunFixture fx("trainer-nan");
  const Recipe recipe = load_recipe(fx.recipe("nan", 20), {"optim.lr=1e30", "optim.grad_clip=0"});
  std::ostringstream progress;
  try {
    Trainer(recipe, progress).run();
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("step "), std::string::npos) << e.what();
  }
}

TEST(Trainer, NonFiniteStepsCanBeSkipped) {
  testing::RunFixture fx("trainer-skip");
  const Recipe recipe = load_recipe(fx.recipe("skip", 6), {"optim.lr=1e30", "optim.grad_clip=0",
                                                             "train.on_nonfinite=skip", "train.max_nonfinite_skips=100"});
  std::ostringstream progress;
  const TrainSummary s = Trainer(recipe, progress).run();
  EXPECT_GT(s.nonfinite_skips, 0);
  EXPECT_EQ(s.last_step, 6);
}

TEST(Trainer, MissingDataNamesTheKey) {
  testing::RunFixture fx("trainer-missing");
  const Recipe recipe = load_recipe(fx.recipe("missing", 5), {"data.train=/nonexistent/train.bin"});
  std::ostringstream progress;
  try {
    Trainer trainer(recipe, progress);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/train.bin"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace krait::train

namespace krait::train {
namespace {

// A short run on the GPU follows the CPU run's losses (fp32 on both; summation orders differ).
TEST(Trainer, CudaRunFollowsTheCpuRun) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  testing::RunFixture fx("trainer-cuda");
  std::ostringstream progress;
  const TrainSummary cpu = Trainer(load_recipe(fx.recipe("cpu", 10)), progress).run();
  const TrainSummary gpu = Trainer(load_recipe(fx.recipe("gpu", 10), {"train.device=cuda"}), progress).run();
  EXPECT_NEAR(gpu.final_train_loss, cpu.final_train_loss, 1e-3 * cpu.final_train_loss) << progress.str();
  EXPECT_NEAR(gpu.final_eval_loss, cpu.final_eval_loss, 1e-3 * cpu.final_eval_loss) << progress.str();
  const TrainSummary bf16 =
      Trainer(load_recipe(fx.recipe("bf16", 10), {"train.device=cuda", "train.precision=bf16"}), progress).run();
  EXPECT_NEAR(bf16.final_eval_loss, cpu.final_eval_loss, 2e-2 * cpu.final_eval_loss) << progress.str();
}

TEST(Trainer, Bf16NeedsCuda) {
  testing::RunFixture fx("trainer-bf16-cpu");
  std::ostringstream progress;
  EXPECT_THROW(Trainer(load_recipe(fx.recipe("bf16", 2), {"train.precision=bf16"}), progress), Error);
}

}  // namespace
}  // namespace krait::train
