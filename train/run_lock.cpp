// train/run_lock.cpp — the run directories' lock files (see run_lock.h).
#include "train/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace krait::train {

std::optional<PidLockFile> PidLockFile::try_take(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  KRAIT_CHECK(fd, "cannot open the lock file '", path.string(), "': ", std::strerror(errno));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    KRAIT_CHECK(errno == EWOULDBLOCK, "flock '", path.string(), "': ", std::strerror(errno));
    return std::nullopt;
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  KRAIT_CHECK(::ftruncate(fd.get(), 0) == 0 && ::pwrite(fd.get(), pid.data(), pid.size(), 0) == ssize_t(pid.size()),
              "cannot write '", path.string(), "': ", std::strerror(errno));
  return PidLockFile(std::move(fd));
}

std::optional<std::string> PidLockFile::holder(const std::filesystem::path& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || ::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return std::nullopt;
  char text[32] = {};
  const ssize_t n = ::pread(fd.get(), text, sizeof text - 1, 0);
  std::string pid(text, n > 0 ? static_cast<size_t>(n) : 0);
  while (!pid.empty() && pid.back() == '\n') pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

RunDirLock::RunDirLock(const std::string& run_dir) {
  const std::filesystem::path path = std::filesystem::path(run_dir) / kRunLockFile;
  lock_ = PidLockFile::try_take(path);
  if (!lock_)
    KRAIT_FAIL("run directory '", run_dir, "' is in use by another training process (pid ",
               PidLockFile::holder(path).value_or("unknown"), ", holding ", path.string(),
               "); wait for it to finish or stop it first");
}

}  // namespace krait::train
