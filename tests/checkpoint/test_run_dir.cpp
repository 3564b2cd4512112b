// tests/checkpoint/test_run_dir.cpp — checkpoint names, finding the latest, pruning, and clearing
// temporary files left by an interrupted write.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/checkpoint/test_util.h"
#include "train/run_dir.h"

namespace krait {
namespace {

using checkpoint_testing::error_text;
using checkpoint_testing::mentions;
using checkpoint_testing::TempDir;
using checkpoint_testing::write_text;

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Checkpoints at steps 5, 120 and 40, a stray temp file at step 300, and an unrelated file.
void populate(const std::string& run_dir) {
  std::filesystem::create_directories(checkpoint_dir(run_dir));
  for (int64_t step : {5, 120, 40}) write_text(checkpoint_path(run_dir, step), "x");
  write_text(checkpoint_path(run_dir, 300) + ".tmp", "partial");
  write_text(checkpoint_dir(run_dir) + "/notes.txt", "keep me");
}

TEST(RunDir, NamesCheckpointsByZeroPaddedStep) {
  EXPECT_EQ(checkpoint_path("runs/a", 123), "runs/a/checkpoints/step-00000123.h5");
  EXPECT_EQ(checkpoint_path("runs/a/", 0), "runs/a/checkpoints/step-00000000.h5");
  EXPECT_EQ(checkpoint_path("r", 123456789), "r/checkpoints/step-123456789.h5");
  EXPECT_TRUE(mentions(error_text([] { checkpoint_path("r", -1); }), "negative step -1"));
}

TEST(RunDir, LatestIgnoresTempAndUnrelatedFiles) {
  TempDir dir;
  EXPECT_EQ(latest_checkpoint(dir.path()), std::nullopt);  // no checkpoints/ yet
  populate(dir.path());
  EXPECT_EQ(latest_checkpoint(dir.path()), checkpoint_path(dir.path(), 120));
  const std::vector<CheckpointFile> all = list_checkpoints(dir.path());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].step, 5);
  EXPECT_EQ(all[1].step, 40);
  EXPECT_EQ(all[2].step, 120);
  EXPECT_EQ(all[2].path, checkpoint_path(dir.path(), 120));
}

TEST(RunDir, PruneKeepsTheNewest) {
  TempDir dir;
  populate(dir.path());
  prune_checkpoints(dir.path(), 5);
  EXPECT_EQ(list_checkpoints(dir.path()).size(), 3u);
  prune_checkpoints(dir.path(), 2);
  EXPECT_EQ(files_in(checkpoint_dir(dir.path())),
            (std::vector<std::string>{"notes.txt", "step-00000040.h5", "step-00000120.h5", "step-00000300.h5.tmp"}));
  prune_checkpoints(dir.path(), 1);
  EXPECT_EQ(latest_checkpoint(dir.path()), checkpoint_path(dir.path(), 120));
  EXPECT_EQ(list_checkpoints(dir.path()).size(), 1u);
  EXPECT_TRUE(mentions(error_text([&] { prune_checkpoints(dir.path(), 0); }), "keep must be at least 1, got 0"));
  prune_checkpoints(dir.file("no_such_run"), 1);  // nothing to prune
}

TEST(RunDir, RemovesStaleTempFilesOnly) {
  TempDir dir;
  populate(dir.path());
  write_text(checkpoint_dir(dir.path()) + "/other.tmp", "not ours");
  remove_stale_temp_files(dir.path());
  EXPECT_EQ(files_in(checkpoint_dir(dir.path())),
            (std::vector<std::string>{"notes.txt", "other.tmp", "step-00000005.h5", "step-00000040.h5",
                                      "step-00000120.h5"}));
  remove_stale_temp_files(dir.file("no_such_run"));
}

}  // namespace
}  // namespace krait
