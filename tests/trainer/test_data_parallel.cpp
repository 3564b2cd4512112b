// Data-parallel training on the CPU, with ranks as threads over the in-process fake communicator:
// the same recipe on 1 and 2 ranks (equal global batch) ends at the same weights up to the rounding
// of the reduction order, two 2-rank runs are bit-identical, only rank 0 writes, and a checkpoint of
// a 2-rank run resumes on 1 rank.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/dist/fake_communicator.h"
#include "tests/trainer/run_fixture.h"
#include "train/checkpoint_file.h"
#include "train/recipe.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace krait::train {
namespace {

// Runs the recipe on `world` ranks (threads); returns rank 0's progress text.
std::string train_on(const Recipe& recipe, int world) {
  dist::testing::FakeGroup group(world);
  std::vector<std::ostringstream> logs(static_cast<size_t>(world));
  std::vector<std::thread> ranks;
  std::vector<std::string> errors(static_cast<size_t>(world));
  for (int r = 0; r < world; ++r) {
    ranks.emplace_back([&, r] {
      try {
        const auto comm = group.member(r);
        Trainer trainer(recipe, logs[static_cast<size_t>(r)], comm.get());
        trainer.run();
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  }
  for (std::thread& t : ranks) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[static_cast<size_t>(r)], "") << "rank " << r;
  return logs[0].str();
}

Recipe tiny(const testing::RunFixture& fx, const std::string& name, int64_t steps, int world, bool zero1 = false) {
  return load_recipe(fx.recipe(name, steps),
                     {"train.micro_batch=auto", "train.grad_accum=2", "data.batch_size=8",
                      std::string("train.zero1=") + (zero1 ? "true" : "false")},
                     world);
}

// The largest |a - b| over every parameter of two checkpoints.
double max_weight_difference(const std::string& a_path, const std::string& b_path) {
  const CheckpointReader a(a_path), b(b_path);
  double worst = 0;
  for (const std::string& name : a.list("model")) {
    const std::vector<double> x = a.tensor("model/" + name).to_doubles(), y = b.tensor("model/" + name).to_doubles();
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  }
  return worst;
}

bool bit_identical(const std::string& a_path, const std::string& b_path) {
  const CheckpointReader a(a_path), b(b_path);
  for (const std::string& name : a.list("model")) {
    const Tensor x = a.tensor("model/" + name), y = b.tensor("model/" + name);
    if (std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()) != 0) return false;
  }
  return true;
}

TEST(DataParallel, TwoRanksMatchOneAtTheSameGlobalBatch) {
  testing::RunFixture fx("data-parallel");
  const std::string one = train_on(tiny(fx, "one", 20, 1), 1);
  const std::string two = train_on(tiny(fx, "two", 20, 2), 2);
  EXPECT_NE(two.find("micro-batch 2 x accumulation 2 x 2 ranks"), std::string::npos) << two;
  const double diff = max_weight_difference(checkpoint_path(fx.run_dir("one"), 20), checkpoint_path(fx.run_dir("two"), 20));
  EXPECT_LT(diff, 1e-4) << "after 20 steps";
  EXPECT_GT(diff, 0.0) << "different reduction order, so not bit-identical (else the test proves little)";

  // Only rank 0 wrote: one train record per step.
  std::ifstream metrics(fx.run_dir("two") + "/metrics.jsonl");
  int train_records = 0;
  for (std::string line; std::getline(metrics, line);) train_records += line.find("\"kind\":\"train\"") != std::string::npos;
  EXPECT_EQ(train_records, 20);
}

// One rank through the communicator (gradients in buckets, reduced during backward) is the plain run.
TEST(DataParallel, OneRankThroughTheCommunicatorIsThePlainRun) {
  testing::RunFixture fx("data-parallel-one");
  {
    std::ostringstream log;
    Trainer(tiny(fx, "plain", 12, 1), log).run();
  }
  train_on(tiny(fx, "comm", 12, 1), 1);
  EXPECT_TRUE(bit_identical(checkpoint_path(fx.run_dir("plain"), 12), checkpoint_path(fx.run_dir("comm"), 12)));
}

// With per-layer recomputation each parameter is reported final after its layer's recompute node has
// run (not from inside its nested backward), so the buckets reduced during backward are complete: the
// same weights, bit for bit.
TEST(DataParallel, RecomputedLayersGiveTheSameWeights) {
  testing::RunFixture fx("data-parallel-recompute");
  train_on(tiny(fx, "plain", 12, 2), 2);
  Recipe recomputed = tiny(fx, "recomputed", 12, 2);
  recomputed.train.recompute = true;
  train_on(recomputed, 2);
  EXPECT_TRUE(bit_identical(checkpoint_path(fx.run_dir("plain"), 12), checkpoint_path(fx.run_dir("recomputed"), 12)));
}

TEST(DataParallel, TwoRankRunsAreBitIdentical) {
  testing::RunFixture fx("data-parallel-repeat");
  train_on(tiny(fx, "a", 12, 2), 2);
  train_on(tiny(fx, "b", 12, 2), 2);
  EXPECT_TRUE(bit_identical(checkpoint_path(fx.run_dir("a"), 12), checkpoint_path(fx.run_dir("b"), 12)));
}

TEST(DataParallel, ATwoRankCheckpointResumesOnOneRank) {
  testing::RunFixture fx("data-parallel-resume");
  train_on(tiny(fx, "straight", 20, 1), 1);
  train_on(tiny(fx, "moved", 20, 2), 2);
  // Back to the step-10 checkpoint of the 2-rank run, then on to step 20 on one rank.
  std::filesystem::remove(checkpoint_path(fx.run_dir("moved"), 20));
  const std::string resumed = train_on(tiny(fx, "moved", 20, 1), 1);
  EXPECT_NE(resumed.find("resuming from"), std::string::npos) << resumed;
  EXPECT_LT(max_weight_difference(checkpoint_path(fx.run_dir("straight"), 20), checkpoint_path(fx.run_dir("moved"), 20)),
            1e-4);
}

}  // namespace
}  // namespace krait::train

namespace krait::train {
namespace {

// ZeRO-1 shards the AdamW state but computes the same update: 2 ranks with it follow 2 ranks without
// it, and its checkpoints (full state, gathered) resume on 1 rank without it.
TEST(DataParallel, Zero1FollowsThePlainUpdateAndItsCheckpointsResumeAnywhere) {
  testing::RunFixture fx("data-parallel-zero1");
  train_on(tiny(fx, "plain", 20, 2), 2);
  const std::string log = train_on(tiny(fx, "zero1", 20, 2, true), 2);
  EXPECT_NE(log.find("ZeRO-1: this rank holds"), std::string::npos) << log;
  EXPECT_LT(max_weight_difference(checkpoint_path(fx.run_dir("plain"), 20), checkpoint_path(fx.run_dir("zero1"), 20)),
            1e-6);
  std::filesystem::remove(checkpoint_path(fx.run_dir("zero1"), 20));
  train_on(tiny(fx, "zero1", 20, 1), 1);
  EXPECT_LT(max_weight_difference(checkpoint_path(fx.run_dir("plain"), 20), checkpoint_path(fx.run_dir("zero1"), 20)),
            1e-4);
}

}  // namespace
}  // namespace krait::train

namespace krait::train {
namespace {

Recipe tiny_moe(const testing::RunFixture& fx, const std::string& name, int64_t steps, int world, bool expert_parallel) {
  return load_recipe(fx.recipe(name, steps),
                     {"train.micro_batch=auto", "train.grad_accum=2", "data.batch_size=8", "model.backbone=moe-mamba",
                      "model.moe_experts=4", "model.moe_hidden=24",
                      std::string("model.moe_expert_parallel=") + (expert_parallel ? "true" : "false")},
                     world);
}

// Expert parallelism (MoE experts sharded over 2 ranks, tokens exchanged all-to-all) follows plain data
// parallelism to rounding: the same weights after 20 steps (the experts' gradients are summed inside
// one backward instead of by the all-reduce) and the same evaluation. Its checkpoints hold the whole
// experts, resume on 2 ranks bit-identically, and on 1 rank without expert parallelism (whose larger
// micro-batch routes differently: capacity depends on it, so only the resume itself is checked).
TEST(DataParallel, ExpertParallelFollowsPlainDataParallelism) {
  testing::RunFixture fx("data-parallel-experts");
  train_on(tiny_moe(fx, "plain", 20, 2, false), 2);
  const std::string log = train_on(tiny_moe(fx, "experts", 20, 2, true), 2);
  const std::string plain = checkpoint_path(fx.run_dir("plain"), 20), experts = checkpoint_path(fx.run_dir("experts"), 20);
  const double diff = max_weight_difference(plain, experts);
  EXPECT_LT(diff, 1e-5) << log;
  EXPECT_EQ(CheckpointReader(experts).tensor("model/layers.0.moe.experts.w1").shape(), (Shape{4, 16, 24}));
  EXPECT_NE(log.find("moe aux"), std::string::npos) << log;
  // Every evaluation: each rank scores the whole set with sharded experts; plain data parallelism sums
  // the ranks' halves. Their batches hold other windows, and routing with a capacity depends on the
  // batch, so the losses agree only to about 1e-3 (a mis-sharded expert would be far off).
  const auto eval_losses = [&](const std::string& run) {
    std::vector<double> out;
    std::ifstream metrics(fx.run_dir(run) + "/metrics.jsonl");
    for (std::string line; std::getline(metrics, line);) {
      if (line.find("\"kind\":\"eval\"") == std::string::npos) continue;
      const size_t at = line.find("\"loss\":");
      out.push_back(std::stod(line.substr(at + 7)));
    }
    return out;
  };
  const std::vector<double> plain_eval = eval_losses("plain"), experts_eval = eval_losses("experts");
  ASSERT_EQ(plain_eval.size(), 2u);
  ASSERT_EQ(experts_eval.size(), plain_eval.size());
  for (size_t i = 0; i < plain_eval.size(); ++i) EXPECT_NEAR(experts_eval[i], plain_eval[i], 1e-3) << "evaluation " << i;

    // The step-10 checkpoint, on to step 20 again: on 2 ranks bit-identical, then on 1 rank.
  std::filesystem::copy(fx.run_dir("experts"), fx.run_dir("again"), std::filesystem::copy_options::recursive);
  std::filesystem::remove(checkpoint_path(fx.run_dir("again"), 20));
  Recipe again = tiny_moe(fx, "again", 20, 2, true);
  train_on(again, 2);
  EXPECT_TRUE(bit_identical(experts, checkpoint_path(fx.run_dir("again"), 20)));
  std::filesystem::remove(checkpoint_path(fx.run_dir("again"), 20));
  const std::string one = train_on(tiny_moe(fx, "again", 20, 1, false), 1);
  EXPECT_NE(one.find("resuming from"), std::string::npos) << one;
  EXPECT_TRUE(std::filesystem::exists(checkpoint_path(fx.run_dir("again"), 20))) << one;
}

}  // namespace
}  // namespace krait::train
