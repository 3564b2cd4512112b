// tests/trainer/test_moe_train.cpp — the shipped configs/moe/tiny-cpu.yaml (model.backbone:
// moe-mamba) through `krait train` on the CPU: the loss falls on real text, evaluation writes the
// routing metrics (aux loss, drops, load per expert), the resolved recipe reads back, a resumed run
// ends bit-identical to a straight one, and `krait bench train` takes the recipe.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"
#include "tests/trainer/checkpoint_compare.h"
#include "tests/trainer/run_fixture.h"
#include "tests/trainer/spawn.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace krait::train {
namespace {

using testing::read_text;

// The shipped recipe on the fixture's shards, shrunk: width 32, 2 blocks of 4 experts.
Recipe tiny_moe(const testing::RunFixture& fx, const std::string& run_name, int64_t steps) {
  return load_recipe(KRAIT_SOURCE_DIR "/configs/moe/tiny-cpu.yaml",
                     {"data.train=" + (fx.dir() / "data/train.bin").string(),
                      "data.valid=" + (fx.dir() / "data/valid.bin").string(), "model.d_model=32", "model.n_layer=2",
                      "model.moe_experts=4", "data.seq_len=32", "data.batch_size=8",
                      "schedule.total_steps=" + std::to_string(steps), "train.eval_interval=10",
                      "train.checkpoint_interval=10", "eval.max_batches=2", "train.run_dir=" + fx.run_dir(run_name)});
}

TEST(MoeTraining, LossFallsMetricsAreWrittenAndResumeIsBitIdentical) {
  testing::RunFixture fx("moe-train");
  std::ostringstream progress;
  const Recipe straight = tiny_moe(fx, "straight", 40);
  const TrainSummary s = Trainer(straight, progress).run();
  EXPECT_LT(s.final_train_loss, 3.6) << progress.str();  // a fresh model is near ln(264) = 5.6
  EXPECT_LT(s.final_eval_loss, 3.6) << progress.str();
  EXPECT_NE(progress.str().find("moe aux"), std::string::npos) << progress.str();
  const std::string metrics = read_text(straight.train.run_dir + "/metrics.jsonl");
  for (const char* field : {"\"moe_aux_loss\"", "\"moe_dropped\"", "\"moe_load_min\"", "\"moe_load_max\"",
                            "\"moe_load_cv\""})
    EXPECT_NE(metrics.find(field), std::string::npos) << field;
  EXPECT_EQ(load_recipe(straight.train.run_dir + "/recipe.yaml").model, straight.model);

  const Recipe interrupted = tiny_moe(fx, "interrupted", 40);
  Trainer(interrupted, progress).run();
  std::filesystem::remove(checkpoint_path(interrupted.train.run_dir, 40));
  const TrainSummary resumed = Trainer(interrupted, progress).run();
  EXPECT_EQ(resumed.first_step, 30);
  EXPECT_EQ(resumed.final_train_loss, s.final_train_loss);
  testing::expect_identical_checkpoints(checkpoint_path(straight.train.run_dir, 40),
                                        checkpoint_path(interrupted.train.run_dir, 40));
}

TEST(MoeTraining, BenchTrainTakesTheRecipe) {
  testing::RunFixture fx("moe-bench");
  const std::string log = (fx.dir() / "bench.log").string();
  ASSERT_EQ(testing::wait_exit_code(testing::spawn_krait(
                {"bench", "train", "-c", KRAIT_SOURCE_DIR "/configs/moe/tiny-cpu.yaml", "--micro-batch", "2",
                 "--seq-len", "32", "--steps", "1"},
                log)),
            0)
      << read_text(log);
  EXPECT_NE(read_text(log).find("moe-mamba"), std::string::npos) << read_text(log);
}

}  // namespace
}  // namespace krait::train
