// train/run_dir.h — where checkpoints live in a run directory and which ones are kept:
// RUN_DIR/checkpoints/step-00000123.h5 (the step zero-padded to 8 digits), written through a
// step-00000123.h5.tmp file that only a crash leaves behind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace krait {

struct CheckpointFile {
  int64_t step = 0;
  std::string path;
};

std::string checkpoint_dir(const std::string& run_dir);  // RUN_DIR/checkpoints
std::string checkpoint_path(const std::string& run_dir, int64_t step);

// The checkpoints in the run directory, oldest step first; other files (and *.tmp) are ignored.
// Empty when the checkpoint directory does not exist.
std::vector<CheckpointFile> list_checkpoints(const std::string& run_dir);
// The checkpoint with the highest step, if any.
std::optional<std::string> latest_checkpoint(const std::string& run_dir);
// Deletes all but the newest `keep` checkpoints (keep >= 1).
void prune_checkpoints(const std::string& run_dir, int keep);
// Deletes step-*.h5.tmp files left by a write that did not finish.
void remove_stale_temp_files(const std::string& run_dir);
// Creates RUN_DIR/checkpoints and checks that a file can be created there (and removes it), so an
// unwritable folder is found before training rather than at the first save; throws naming the cause.
void check_checkpoint_dir_writable(const std::string& run_dir);

}  // namespace krait
