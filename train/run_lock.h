// train/run_lock.h — the lock files of run directories. PidLockFile is the primitive: an exclusive
// flock on a file that holds the taker's pid. Two users: RunDirLock, RUN_DIR/train.lock, which a
// training run holds for its whole life, so that two runs never write one run directory (the second
// fails at once, naming the holder's pid, instead of both dying at their first checkpoint); and the
// sweep runner's RUN_DIR/sweep.lock, which its `krait train` children inherit.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/unique_fd.h"

namespace krait::train {

inline constexpr const char* kRunLockFile = "train.lock";

class PidLockFile {
 public:
  // Takes the lock (creating the file and its folder) and writes this process's pid into it; nullopt
  // when another process holds it. Released when destroyed, and when every process that inherited the
  // descriptor has exited; the descriptor is close-on-exec.
  static std::optional<PidLockFile> try_take(const std::filesystem::path& path);
  // The pid written in the file while some process holds its lock ("unknown" before the holder has
  // written it), else nullopt.
  static std::optional<std::string> holder(const std::filesystem::path& path);
  int fd() const { return fd_.get(); }

 private:
  explicit PidLockFile(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

class RunDirLock {
 public:
  // Takes RUN_DIR/train.lock; throws krait::Error naming the holding pid when another process holds it.
  explicit RunDirLock(const std::string& run_dir);

 private:
  std::optional<PidLockFile> lock_;
};

}  // namespace krait::train
