// A `krait train` run ends by writing RUN_DIR/summary.json (train/run_summary.h) with the run's
// shape, length, losses and FLOPs; starting the finished run again leaves it as it was.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "tests/trainer/run_fixture.h"
#include "train/flops.h"
#include "train/run_summary.h"
#include "train/trainer.h"

namespace krait::train {
namespace {

TEST(RunSummaryFile, TinyCpuRunWritesItsSummary) {
  testing::RunFixture fx("run-summary");
  const Recipe recipe = load_recipe(fx.recipe("summary", 12));
  std::ostringstream progress;
  TrainSummary trained;
  int64_t params = 0;
  {
    Trainer trainer(recipe, progress);
    trained = trainer.run();
    params = trainer.model().num_parameters();
  }
  const std::filesystem::path path = std::filesystem::path(fx.run_dir("summary")) / "summary.json";
  const RunSummary s = read_run_summary(path);
  EXPECT_EQ(s.version, 1);
  EXPECT_EQ(s.status, "finished");
  EXPECT_EQ(s.backbone, "mamba");
  EXPECT_EQ(s.task, "lm");
  EXPECT_EQ(s.d_model, 16);
  EXPECT_EQ(s.n_layer, 2);
  EXPECT_EQ(s.params_total, params);
  EXPECT_EQ(s.params_non_embedding, params - 264 * 16);  // vocab 257 padded to 264
  EXPECT_EQ(s.seq_len, 32);
  EXPECT_EQ(s.batch_size, 4);
  EXPECT_EQ(s.steps, 12);
  EXPECT_EQ(s.tokens, 12 * 4 * 32);
  EXPECT_NEAR(s.final_train_loss, trained.final_train_loss, 1e-7);  // written to 9 digits
  EXPECT_NEAR(s.final_eval_loss, trained.final_eval_loss, 1e-7);
  EXPECT_TRUE(std::isfinite(s.final_eval_loss));
  EXPECT_TRUE(std::isnan(s.final_eval_accuracy));
  EXPECT_NEAR(s.train_flops, 12.0 * 4 * 32 * 6 * double(params), 1e-8 * s.train_flops);
  EXPECT_EQ(s.flops_formula, "tokens * 6*params_total");
  EXPECT_GT(s.wall_s, 0);
  EXPECT_DOUBLE_EQ(s.lr, 0.01);
  EXPECT_EQ(s.recipe, "recipe.yaml");
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(fx.run_dir("summary")) / s.recipe));

  // Started again, the finished run trains nothing and keeps its summary.
  const std::string before = to_json(s);
  Trainer(recipe, progress).run();
  EXPECT_EQ(to_json(read_run_summary(path)), before);
}

}  // namespace
}  // namespace krait::train
