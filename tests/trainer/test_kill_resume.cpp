// A `krait train` process killed with SIGKILL and started again finishes with weights and optimizer
// state bit-identical to a run that was never interrupted.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "autograd/device.h"
#include "tests/trainer/run_fixture.h"
#include "tests/trainer/spawn.h"
#include "train/checkpoint_file.h"
#include "train/run_dir.h"

namespace krait::train {
namespace {

using testing::wait_exit_code;

// `krait train` of the recipe with overrides, its output dropped.
pid_t spawn_krait(const std::string& recipe, const std::vector<std::string>& overrides) {
  std::vector<std::string> args{"train", "--config", recipe};
  for (const auto& o : overrides) args.insert(args.end(), {"--set", o});
  return testing::spawn_krait(args, "/dev/null");
}

// Kills a run after its step-30 checkpoint, restarts it, and compares the end with a straight run.
void expect_bit_identical_resume(const std::string& name, std::vector<std::string> common) {
  testing::RunFixture fx(name);
  // Enough steps that the kill lands mid-run, checkpoints every 10.
  common.insert(common.end(), {"schedule.total_steps=300", "train.checkpoint_interval=10", "train.eval_interval=40",
                               "train.keep_checkpoints=20"});
  const std::string straight = fx.recipe("straight", 300), killed = fx.recipe("killed", 300);
  ASSERT_EQ(wait_exit_code(spawn_krait(straight, common)), 0);

  const pid_t pid = spawn_krait(killed, common);
  const std::string first_checkpoint = checkpoint_path(fx.run_dir("killed"), 30);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(first_checkpoint) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  kill(pid, SIGKILL);
  ASSERT_EQ(wait_exit_code(pid), -SIGKILL) << "the run finished before it could be killed";
  const auto at_kill = latest_checkpoint(fx.run_dir("killed"));
  ASSERT_TRUE(at_kill.has_value());
  ASSERT_NE(*at_kill, checkpoint_path(fx.run_dir("killed"), 300)) << "killed too late to test a resume";

  ASSERT_EQ(wait_exit_code(spawn_krait(killed, common)), 0);
  CheckpointReader a(checkpoint_path(fx.run_dir("straight"), 300)), b(checkpoint_path(fx.run_dir("killed"), 300));
  const auto names = a.list("model");
  ASSERT_FALSE(names.empty());
  for (const std::string& name : names) {
    EXPECT_EQ(a.tensor("model/" + name).to_doubles(), b.tensor("model/" + name).to_doubles()) << name;
    EXPECT_EQ(a.tensor("optim/exp_avg/" + name).to_doubles(), b.tensor("optim/exp_avg/" + name).to_doubles()) << name;
    EXPECT_EQ(a.tensor("optim/exp_avg_sq/" + name).to_doubles(), b.tensor("optim/exp_avg_sq/" + name).to_doubles())
        << name;
  }
  EXPECT_EQ(a.get_u64s("state/data_rng"), b.get_u64s("state/data_rng"));
}

TEST(KillResume, SigkillThenResumeIsBitIdentical) { expect_bit_identical_resume("kill-resume", {}); }

// Every CUDA reduction is deterministic, so a GPU run resumes bit-for-bit too.
TEST(KillResume, SigkillThenResumeIsBitIdenticalOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  expect_bit_identical_resume("kill-resume-cuda", {"train.device=cuda", "train.precision=bf16"});
}

TEST(KillResume, CliReportsBadRecipeInOneLine) {
  testing::RunFixture fx("cli-error");
  const pid_t pid = spawn_krait(fx.recipe("bad", 5), {"model.d_modell=3"});
  EXPECT_EQ(wait_exit_code(pid), 1);
}

}  // namespace
}  // namespace krait::train
