// train/run_lock.cpp — the run directory's lock file (see run_lock.h).
#include "train/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/error.h"

namespace krait::train {
namespace {

// The pid the holder wrote, or "unknown" when it has not yet written it.
std::string holder_pid(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string pid(text, n > 0 ? static_cast<size_t>(n) : 0);
  while (!pid.empty() && pid.back() == '\n') pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

RunDirLock::RunDirLock(const std::string& run_dir) {
  std::filesystem::create_directories(run_dir);
  const std::string path = (std::filesystem::path(run_dir) / kRunLockFile).string();
  fd_ = UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  KRAIT_CHECK(fd_, "cannot open the run directory's lock '", path, "': ", std::strerror(errno));
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    KRAIT_CHECK(errno == EWOULDBLOCK, "flock '", path, "': ", std::strerror(errno));
    KRAIT_FAIL("run directory '", run_dir, "' is in use by another training process (pid ", holder_pid(fd_.get()),
               ", holding ", path, "); wait for it to finish or stop it first");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  KRAIT_CHECK(::ftruncate(fd_.get(), 0) == 0 && ::pwrite(fd_.get(), pid.data(), pid.size(), 0) == ssize_t(pid.size()),
              "cannot write '", path, "': ", std::strerror(errno));
}

}  // namespace krait::train
