// A `krait train` process killed with SIGKILL, or stopped by SIGINT, SIGTERM or SIGUSR1 (a checkpoint
// at the step it stopped, exit status 128 + signal), and started again finishes with weights and
// optimizer state bit-identical to a run that was never interrupted.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "autograd/device.h"
#include "tests/trainer/checkpoint_compare.h"
#include "tests/trainer/run_fixture.h"
#include "tests/trainer/spawn.h"
#include "train/checkpoint_file.h"
#include "train/run_dir.h"

namespace krait::train {
namespace {

using testing::read_output;
using testing::wait_exit_code;

// `krait train` of the recipe with overrides, its output dropped.
pid_t spawn_krait(const std::string& recipe, const std::vector<std::string>& overrides) {
  std::vector<std::string> args{"train", "--config", recipe};
  for (const auto& o : overrides) args.insert(args.end(), {"--set", o});
  return testing::spawn_krait(args, "/dev/null");
}

// The two runs' last checkpoints hold the same weights, optimizer moments and data sampler state.
void expect_same_end(const std::string& straight, const std::string& resumed) {
  testing::expect_identical_checkpoints(straight, resumed, true);
  EXPECT_EQ(CheckpointReader(straight).get_u64s("state/data_rng"), CheckpointReader(resumed).get_u64s("state/data_rng"));
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
  expect_same_end(checkpoint_path(fx.run_dir("straight"), 300), checkpoint_path(fx.run_dir("killed"), 300));
}


TEST(KillResume, SigkillThenResumeIsBitIdentical) { expect_bit_identical_resume("kill-resume", {}); }

// Every CUDA reduction is deterministic, so a GPU run resumes bit-for-bit too.
TEST(KillResume, SigkillThenResumeIsBitIdenticalOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  expect_bit_identical_resume("kill-resume-cuda", {"train.device=cuda", "train.precision=bf16"});
}

// Each signal stops a run mid-way with a checkpoint at the step it names; the resumed run ends
// bit-identical to a straight one.
TEST(KillResume, SigintSigtermSigusr1StopWithACheckpointAndResumeBitIdentical) {
  testing::RunFixture fx("signal-resume");
  constexpr int64_t kTotal = 300;
  // Checkpoints and evaluations only at the end, so the stop's checkpoint is the only other one.
  const std::vector<std::string> common{"train.checkpoint_interval=100000", "train.eval_interval=100000"};
  ASSERT_EQ(wait_exit_code(spawn_krait(fx.recipe("straight", kTotal), common)), 0);
  for (const int sig : {SIGINT, SIGTERM, SIGUSR1}) {
    const std::string name = "stopped-" + std::to_string(sig), output = (fx.dir() / (name + ".txt")).string();
    std::vector<std::string> args{"train", "--config", fx.recipe(name, kTotal)};
    for (const auto& o : common) args.insert(args.end(), {"--set", o});
    const pid_t pid = testing::spawn_krait(args, output);
    const bool started = testing::wait_for_output(output, "step      1/");
    kill(pid, sig);
    ASSERT_TRUE(started) << read_output(output);
    ASSERT_EQ(wait_exit_code(pid), 128 + sig) << read_output(output);
    const std::vector<CheckpointFile> checkpoints = list_checkpoints(fx.run_dir(name));
    ASSERT_EQ(checkpoints.size(), 1u) << read_output(output);
    const int64_t step = checkpoints[0].step;
    EXPECT_LT(step, kTotal);
    const std::string text = read_output(output);
    EXPECT_NE(text.find("stopping at step " + std::to_string(step) + " on SIG"), std::string::npos) << text;
    EXPECT_NE(text.find(checkpoints[0].path + " written"), std::string::npos) << text;
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(fx.run_dir(name)) / "summary.json"));

    ASSERT_EQ(wait_exit_code(spawn_krait(fx.recipe(name, kTotal), common)), 0);
    expect_same_end(checkpoint_path(fx.run_dir("straight"), kTotal), checkpoint_path(fx.run_dir(name), kTotal));
  }
}

TEST(KillResume, CliReportsBadRecipeInOneLine) {
  testing::RunFixture fx("cli-error");
  const pid_t pid = spawn_krait(fx.recipe("bad", 5), {"model.d_modell=3"});
  EXPECT_EQ(wait_exit_code(pid), 1);
}

}  // namespace
}  // namespace krait::train
