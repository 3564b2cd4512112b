// train/run_lock.h — RunDirLock: the exclusive flock on RUN_DIR/train.lock that a training run holds
// for its whole life, so that two runs never write one run directory (the second fails at once,
// naming the holder's pid, instead of both dying at their first checkpoint). A different file from
// the sweep runner's RUN_DIR/sweep.lock, which its `krait train` children inherit.
#pragma once

#include <string>

#include "common/unique_fd.h"

namespace krait::train {

inline constexpr const char* kRunLockFile = "train.lock";

class RunDirLock {
 public:
  // Takes the lock (creating run_dir and the lock file) and writes this process's pid into it; throws
  // krait::Error naming the holding pid when another process holds it. Released when destroyed, or
  // when the process dies. The descriptor is close-on-exec.
  explicit RunDirLock(const std::string& run_dir);

 private:
  UniqueFd fd_;
};

}  // namespace krait::train
