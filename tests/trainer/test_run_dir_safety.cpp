// What used to lose a run's work or fail it late: a second training in the same run directory (refused
// at once, naming the first one's pid), a corrupt newest checkpoint (skipped for the newest readable
// one), a validation set without one window and an unwritable checkpoint folder (found before step 1),
// and a disk that fills while a checkpoint is written (the error, no crash, the old checkpoint kept).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "tests/trainer/run_fixture.h"
#include "tests/trainer/spawn.h"
#include "train/run_dir.h"

namespace krait::train {
namespace {

namespace fs = std::filesystem;
using testing::read_output;
using testing::spawn_train;
using testing::wait_exit_code;

TEST(RunDirSafety, SecondTrainingInTheRunDirectoryIsRefusedNamingTheFirst) {
  testing::RunFixture fx("run-lock");
  const std::string recipe = fx.recipe("shared", 1000000), first_out = (fx.dir() / "first.txt").string(),
                    second_out = (fx.dir() / "second.txt").string();
  const pid_t first = spawn_train(recipe, {}, first_out);
  const bool started = testing::wait_for_output(first_out, "step      1/");
  const int second = wait_exit_code(spawn_train(recipe, {}, second_out));
  kill(first, SIGKILL);
  wait_exit_code(first);
  ASSERT_TRUE(started) << read_output(first_out);
  EXPECT_EQ(second, 1);
  const std::string text = read_output(second_out);
  EXPECT_NE(text.find("is in use by another training process (pid " + std::to_string(first) + ","), std::string::npos)
      << text;
  // The lock dies with its holder: the run directory is usable again (without the first run's checkpoints,
  // which may be past the 2 steps given here).
  fs::remove_all(checkpoint_dir(fx.run_dir("shared")));
  EXPECT_EQ(wait_exit_code(spawn_train(recipe, {"schedule.total_steps=2"}, "/dev/null")), 0);
}

TEST(RunDirSafety, DiskFullWhileCheckpointingExitsWithTheErrorAndKeepsTheOldCheckpoint) {
  testing::RunFixture fx("disk-full");
  const std::string recipe = fx.recipe("run", 20), output = (fx.dir() / "output.txt").string();
  ASSERT_EQ(wait_exit_code(spawn_train(recipe, {}, "/dev/null")), 0);
  // Back to step 10, then resume with files limited to half a checkpoint: writing step 20's fails.
  const std::string step10 = checkpoint_path(fx.run_dir("run"), 10), step20 = checkpoint_path(fx.run_dir("run"), 20);
  const auto size = static_cast<long>(fs::file_size(step10));
  fs::remove(step20);
  fs::remove(fs::path(fx.run_dir("run")) / "summary.json");
  const auto step10_bytes = read_output(step10);

  const int code = wait_exit_code(spawn_train(recipe, {}, output, {}, size / 2));
  const std::string text = read_output(output);
  EXPECT_EQ(code, 1) << "an error exit, not a crash (HDF5's exit-time clean-up segfaulted here): " << text;
  EXPECT_NE(text.find("krait: error: checkpoint '" + step20 + ".tmp'"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(step20));
  EXPECT_FALSE(fs::exists(step20 + ".tmp"));
  EXPECT_EQ(read_output(step10), step10_bytes) << "the previous checkpoint is intact";
  // And the run resumes from it once there is room again.
  ASSERT_EQ(wait_exit_code(spawn_train(recipe, {}, output)), 0) << read_output(output);
  EXPECT_TRUE(fs::exists(step20));
}

TEST(RunDirSafety, CorruptNewestCheckpointIsSkippedForTheNewestReadable) {
  testing::RunFixture fx("corrupt-newest");
  const std::string recipe = fx.recipe("run", 30), output = (fx.dir() / "output.txt").string();
  const std::vector<std::string> sets{"train.keep_checkpoints=5"};
  ASSERT_EQ(wait_exit_code(spawn_train(recipe, sets, "/dev/null")), 0);
  // As if the run had died writing step 30 and step 20 had been damaged since.
  fs::remove(checkpoint_path(fx.run_dir("run"), 30));
  fs::remove(fs::path(fx.run_dir("run")) / "summary.json");
  fs::resize_file(checkpoint_path(fx.run_dir("run"), 20), 100);

  ASSERT_EQ(wait_exit_code(spawn_train(recipe, sets, output)), 0) << read_output(output);
  const std::string text = read_output(output);
  EXPECT_NE(text.find("skipping checkpoint " + checkpoint_path(fx.run_dir("run"), 20) + ": "), std::string::npos)
      << text;
  EXPECT_NE(text.find("resuming from " + checkpoint_path(fx.run_dir("run"), 10) + " at step 10"), std::string::npos)
      << text;
  EXPECT_TRUE(fs::exists(checkpoint_path(fx.run_dir("run"), 30)));

  // With no readable checkpoint left the run refuses to start over on its own.
  for (const CheckpointFile& c : list_checkpoints(fx.run_dir("run"))) fs::resize_file(c.path, 100);
  fs::remove(fs::path(fx.run_dir("run")) / "summary.json");
  EXPECT_EQ(wait_exit_code(spawn_train(recipe, sets, output)), 1);
  EXPECT_NE(read_output(output).find("can be resumed from"), std::string::npos) << read_output(output);
}

TEST(RunDirSafety, ValidationSetWithoutOneWindowFailsBeforeTheFirstStep) {
  testing::RunFixture fx("short-valid");
  const std::string output = (fx.dir() / "output.txt").string();
  // valid.bin holds about 6,500 tokens, train.bin about 59,000.
  EXPECT_EQ(wait_exit_code(spawn_train(fx.recipe("run", 5), {"data.seq_len=16384"}, output)), 1);
  const std::string text = read_output(output);
  EXPECT_NE(text.find("holds no window of data.seq_len = 16384"), std::string::npos) << text;
  EXPECT_EQ(text.find("step "), std::string::npos) << text;
}

TEST(RunDirSafety, UnwritableCheckpointFolderFailsBeforeTheFirstStep) {
  testing::RunFixture fx("unwritable");
  const std::string output = (fx.dir() / "output.txt").string();
  fs::create_directories(fx.run_dir("file"));
  std::ofstream(checkpoint_dir(fx.run_dir("file"))) << "a file where the folder should be\n";
  EXPECT_EQ(wait_exit_code(spawn_train(fx.recipe("file", 5), {}, output)), 1);
  EXPECT_NE(read_output(output).find("cannot create the checkpoint directory"), std::string::npos)
      << read_output(output);
  EXPECT_EQ(read_output(output).find("step "), std::string::npos) << read_output(output);

  if (::geteuid() == 0) return;  // root writes into read-only folders
  fs::create_directories(checkpoint_dir(fx.run_dir("readonly")));
  fs::permissions(checkpoint_dir(fx.run_dir("readonly")), fs::perms::owner_read | fs::perms::owner_exec);
  EXPECT_EQ(wait_exit_code(spawn_train(fx.recipe("readonly", 5), {}, output)), 1);
  EXPECT_NE(read_output(output).find("cannot write checkpoints to"), std::string::npos) << read_output(output);
  fs::permissions(checkpoint_dir(fx.run_dir("readonly")), fs::perms::owner_all);
}

}  // namespace
}  // namespace krait::train
