// tests/trainer/test_ablation_run.cpp — the Mamba paper's ablations from a recipe, end to end on the
// CPU: a tiny run without the conv and the gate, with only delta and C input-dependent and a random A
// trains, writes the ablation keys back to recipe.yaml, checkpoints the ablated parameters, resumes
// from a checkpoint to the same weights, and `krait eval` rebuilds the model from its checkpoint.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "tests/trainer/checkpoint_compare.h"
#include "tests/trainer/run_fixture.h"
#include "tests/trainer/spawn.h"
#include "train/checkpoint_file.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace krait::train {
namespace {

TEST(AblationRun, AblatedRecipeTrainsResumesAndEvaluates) {
  testing::RunFixture fx("ablation");
  const std::vector<std::string> ablations = {"model.selective=[C, delta]", "model.conv=false", "model.gate=false",
                                              "model.a_init=random", "optim.lr=0.02"};
  const Recipe recipe = load_recipe(fx.recipe("ablated", 20), ablations);
  const std::string run_dir = recipe.train.run_dir;
  std::ostringstream progress;
  const TrainSummary trained = Trainer(recipe, progress).run();
  // A fresh byte-level model is near ln(264) = 5.6 nats.
  EXPECT_LT(trained.final_train_loss, 4.0) << progress.str();
  EXPECT_TRUE(std::isfinite(trained.final_eval_loss)) << progress.str();

  // The resolved recipe names the ablations and reads back as the same model.
  std::ifstream resolved(run_dir + "/recipe.yaml");
  const std::string yaml{std::istreambuf_iterator<char>(resolved), std::istreambuf_iterator<char>()};
  for (const char* line : {"selective: [delta, C]", "conv: false", "gate: false", "a_init: random"})
    EXPECT_NE(yaml.find(line), std::string::npos) << line << " not in\n" << yaml;
  EXPECT_EQ(load_recipe(run_dir + "/recipe.yaml").model, recipe.model);

  // The checkpoint holds the ablated parameters: x_proj for dt and C only (1 + 4 rows), B per
  // channel, no conv, in_proj to x alone (d_inner 32 rows).
  const std::string last = checkpoint_path(run_dir, 20);
  {
    CheckpointReader ckpt(last);
    const std::vector<std::string> names = ckpt.list("model");
    const auto has = [&](const std::string& name) { return std::find(names.begin(), names.end(), name) != names.end(); };
    EXPECT_TRUE(has("layers.0.mixer.B"));
    EXPECT_TRUE(has("layers.0.mixer.dt_proj.bias"));
    EXPECT_FALSE(has("layers.0.mixer.C"));
    EXPECT_FALSE(has("layers.0.mixer.conv1d.weight"));
    EXPECT_EQ(ckpt.tensor("model/layers.1.mixer.x_proj.weight").shape(), (Shape{5, 32}));
    EXPECT_EQ(ckpt.tensor("model/layers.1.mixer.in_proj.weight").shape(), (Shape{32, 16}));
  }

  // Resumed from step 10, the run ends with the same weights.
  std::filesystem::rename(last, run_dir + "/straight.h5");
  const TrainSummary resumed = Trainer(recipe, progress).run();
  EXPECT_EQ(resumed.first_step, 10);
  testing::expect_identical_checkpoints(run_dir + "/straight.h5", last);

  // krait eval builds the model from the recipe stored in the checkpoint.
  const std::string output = fx.dir().string() + "/eval.log";
  EXPECT_EQ(testing::wait_exit_code(testing::spawn_krait({"eval", "--checkpoint", last}, output)), 0);
  std::ifstream log(output);
  const std::string text{std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>()};
  EXPECT_NE(text.find("loss"), std::string::npos) << text;
}

}  // namespace
}  // namespace krait::train
