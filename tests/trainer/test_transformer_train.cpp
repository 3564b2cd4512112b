// tests/trainer/test_transformer_train.cpp — a tiny Transformer++ recipe (model.backbone: transformer)
// through the training loop: the loss falls on real text, a resumed run ends bit-identical to a straight
// one, `krait train` and `krait bench train` take the recipe, and (with a GPU) a CUDA run follows the
// CPU run.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "autograd/device.h"
#include "tests/support/temp_dir.h"
#include "tests/trainer/checkpoint_compare.h"
#include "tests/trainer/run_fixture.h"
#include "tests/trainer/spawn.h"
#include "train/checkpoint_file.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace krait::train {
namespace {

// A ~30K-parameter byte-level Transformer recipe on the fixture's shards.
std::string transformer_recipe(const testing::RunFixture& fx, const std::string& run_name, int64_t total_steps) {
  const std::string path = (fx.dir() / (run_name + ".yaml")).string();
  std::ofstream(path) << "model: {backbone: transformer, d_model: 32, n_layer: 2, n_head: 4, d_ff: 64, "
                         "vocab_size: 257}\n"
                      << "data:\n  train: " << (fx.dir() / "data/train.bin").string()
                      << "\n  valid: " << (fx.dir() / "data/valid.bin").string() << "\n  seq_len: 32\n  batch_size: 4\n"
                      << "optim: {lr: 0.01}\n"
                      << "schedule: {warmup_steps: 2, total_steps: " << total_steps << "}\n"
                      << "train:\n  seed: 5\n  run_dir: " << fx.run_dir(run_name) << "\n  micro_batch: 2\n"
                      << "  eval_interval: 10\n  checkpoint_interval: 10\n  log_interval: 5\n"
                      << "eval: {max_batches: 2}\n";
  return path;
}

using testing::read_text;

TEST(TransformerTraining, LossFallsAndResumeIsBitIdentical) {
  testing::RunFixture fx("transformer-train");
  std::ostringstream progress;
  const Recipe straight = load_recipe(transformer_recipe(fx, "straight", 40));
  const TrainSummary s = Trainer(straight, progress).run();
  // Byte-level text: a fresh model is near ln(264) = 5.6 nats; 40 steps learn the byte frequencies.
  EXPECT_LT(s.final_train_loss, 3.6) << progress.str();
  EXPECT_LT(s.final_eval_loss, 3.6) << progress.str();
  EXPECT_NE(read_text(straight.train.run_dir + "/recipe.yaml").find("backbone: transformer"), std::string::npos);

  // The same recipe, stopped after its step-30 checkpoint and resumed.
  const Recipe interrupted = load_recipe(transformer_recipe(fx, "interrupted", 40));
  Trainer(interrupted, progress).run();
  std::filesystem::remove(checkpoint_path(interrupted.train.run_dir, 40));
  const TrainSummary resumed = Trainer(interrupted, progress).run();
  EXPECT_EQ(resumed.first_step, 30);
  EXPECT_EQ(resumed.final_train_loss, s.final_train_loss);
  const std::string end = checkpoint_path(straight.train.run_dir, 40);
  ASSERT_EQ(CheckpointReader(end).list("model").size(), 1 + 2 * 6 + 1u);
  testing::expect_identical_checkpoints(end, checkpoint_path(interrupted.train.run_dir, 40), true);
}

TEST(TransformerTraining, CliTrainsAndBenchesTheRecipe) {
  testing::RunFixture fx("transformer-cli");
  const std::string recipe = transformer_recipe(fx, "cli", 4);
  const std::string log = (fx.dir() / "train.log").string(), bench = (fx.dir() / "bench.log").string();
  ASSERT_EQ(testing::wait_exit_code(testing::spawn_krait({"train", "--config", recipe}, log)), 0) << read_text(log);
  EXPECT_TRUE(std::filesystem::exists(checkpoint_path(fx.run_dir("cli"), 4))) << read_text(log);
  // The resolved recipe the run wrote reads back to the recipe it ran.
  const Recipe resolved = load_recipe(fx.run_dir("cli") + "/recipe.yaml");
  EXPECT_EQ(resolved.model, load_recipe(recipe).model);

  ASSERT_EQ(testing::wait_exit_code(testing::spawn_krait(
                {"bench", "train", "-c", recipe, "--micro-batch", "2", "--seq-len", "16", "--steps", "1"}, bench)),
            0)
      << read_text(bench);
  EXPECT_NE(read_text(bench).find("| transformer lm, d_model 32, 2 layers | f32 |"), std::string::npos)
      << read_text(bench);
}

// The GPU follows the CPU: fp32 closely (summation orders differ), bf16 within mixed precision's error.
TEST(TransformerTraining, CudaRunFollowsTheCpuRun) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  testing::RunFixture fx("transformer-cuda");
  std::ostringstream progress;
  const TrainSummary cpu = Trainer(load_recipe(transformer_recipe(fx, "cpu", 10)), progress).run();
  const TrainSummary gpu =
      Trainer(load_recipe(transformer_recipe(fx, "gpu", 10), {"train.device=cuda"}), progress).run();
  EXPECT_NEAR(gpu.final_train_loss, cpu.final_train_loss, 1e-3 * cpu.final_train_loss) << progress.str();
  EXPECT_NEAR(gpu.final_eval_loss, cpu.final_eval_loss, 1e-3 * cpu.final_eval_loss) << progress.str();
  const TrainSummary bf16 = Trainer(load_recipe(transformer_recipe(fx, "bf16", 10),
                                                {"train.device=cuda", "train.precision=bf16"}),
                                    progress)
                                .run();
  EXPECT_NEAR(bf16.final_eval_loss, cpu.final_eval_loss, 2e-2 * cpu.final_eval_loss) << progress.str();
}

}  // namespace
}  // namespace krait::train
