// What `krait train` prints around a run (train/run_banner.h): the banner (model and parameter count,
// device, data, batch, planned steps, run directory, fresh or resumed from which checkpoint) and the
// end summary (losses, tokens, the newest checkpoint and the commands to try next).
#include <gtest/gtest.h>

#include <string>

#include "tests/trainer/run_fixture.h"
#include "tests/trainer/spawn.h"
#include "train/flops.h"
#include "train/recipe.h"
#include "train/run_dir.h"

namespace krait::train {
namespace {

// `krait train --config recipe`: its exit status must be 0; returns its output.
std::string train(const testing::RunFixture& fx, const std::string& recipe, const std::string& name) {
  const std::string output = (fx.dir() / (name + ".txt")).string();
  EXPECT_EQ(testing::wait_exit_code(testing::spawn_krait({"train", "--config", recipe}, output)), 0);
  return testing::read_output(output);
}

// A count of 1,000 to 999,999 as the banner writes it.
std::string grouped(int64_t n) {
  std::string s = std::to_string(n);
  return s.insert(s.size() - 3, ",");
}

void expect_has(const std::string& output, const std::string& text) {
  EXPECT_NE(output.find(text), std::string::npos) << "no '" << text << "' in:\n" << output;
}

TEST(RunBanner, FreshRunPrintsTheBannerAndTheSummaryResumedRunNamesItsCheckpoint) {
  testing::RunFixture fx("banner");
  const std::string recipe = fx.recipe("run", 12), run_dir = fx.run_dir("run");
  const ParameterCount params = count_parameters(load_recipe(recipe).model);
  const std::string checkpoint = checkpoint_path(run_dir, 12);

  const std::string fresh = train(fx, recipe, "fresh");
  expect_has(fresh, "model:    mamba lm, d_model 16 x 2 layers, " + grouped(params.total) + " parameters (" +
                        grouped(params.non_embedding()) + " non-embedding)\n");
  expect_has(fresh, "device:   cpu, fp32\n");
  expect_has(fresh, "data:     tokens: train " + (fx.dir() / "data/train.bin").string());
  expect_has(fresh, "; vocabulary 257\n");
  expect_has(fresh, "batch:    global batch 4 x 32 = 128 tokens per step = micro-batch 2 x accumulation 2 x 1 rank\n");
  expect_has(fresh, "schedule: 12 steps, 1,536 tokens; lr 0.01 peak, 2 warmup steps, cosine decay to 0\n");
  expect_has(fresh, "run:      " + run_dir + ", fresh\n");
  expect_has(fresh, "done: step 12, train loss ");
  expect_has(fresh, ", valid loss ");
  expect_has(fresh, "  1,536 tokens; this process: 1,536 tokens in ");
  expect_has(fresh, "  checkpoint: " + checkpoint + "\n");
  expect_has(fresh, "  next: krait eval --checkpoint " + checkpoint + "\n");
  expect_has(fresh, "        krait-plot " + run_dir + "/metrics.jsonl -o loss.svg\n");
  expect_has(fresh, "        krait generate --checkpoint " + checkpoint + " --prompt ");
  EXPECT_LT(fresh.find("run:      "), fresh.find("step      1/12"));  // the banner comes before step 1

  // Started again, the finished run resumes from its last checkpoint and trains nothing.
  const std::string resumed = train(fx, recipe, "resumed");
  expect_has(resumed, "run:      " + run_dir + ", resuming from " + checkpoint + " at step 12\n");
  expect_has(resumed, "done: step 12; run directory " + run_dir + "\n");  // no loss: it trained no step
  expect_has(resumed, "this process: 0 tokens in ");
  expect_has(resumed, "  checkpoint: " + checkpoint + "\n");
}

}  // namespace
}  // namespace krait::train
