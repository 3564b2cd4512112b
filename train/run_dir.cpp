// train/run_dir.cpp — checkpoint naming, listing and rotation in a run directory.
#include "train/run_dir.h"

#include <algorithm>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/error.h"

namespace krait {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "step-";
constexpr const char* kSuffix = ".h5";
constexpr const char* kTempSuffix = ".tmp";

// The step of a file named step-NNNNNNNN.h5 (8 or more digits), or nullopt for any other name.
std::optional<int64_t> step_of(const std::string& name) {
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return std::nullopt;
  const std::string digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() < 8 || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(digits);
}

// The regular files directly in the checkpoint directory; none when it does not exist.
std::vector<fs::path> files_in(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return {};
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) files.push_back(it->path());
  }
  KRAIT_CHECK(!ec, "cannot list checkpoint directory ", dir, ": ", ec.message());
  return files;
}

void remove_file(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  KRAIT_CHECK(!ec, "cannot delete ", path.string(), ": ", ec.message());
}

}  // namespace

std::string checkpoint_dir(const std::string& run_dir) {
  return (fs::path(run_dir) / "checkpoints").string();
}

std::string checkpoint_path(const std::string& run_dir, int64_t step) {
  KRAIT_CHECK(step >= 0, "checkpoint_path: negative step ", step);
  char name[32];
  std::snprintf(name, sizeof(name), "%s%08lld%s", kPrefix, static_cast<long long>(step), kSuffix);
  return (fs::path(checkpoint_dir(run_dir)) / name).string();
}

std::vector<CheckpointFile> list_checkpoints(const std::string& run_dir) {
  std::vector<CheckpointFile> checkpoints;
  for (const fs::path& file : files_in(checkpoint_dir(run_dir))) {
    if (const auto step = step_of(file.filename().string()))
      checkpoints.push_back({*step, file.string()});
  }
  std::sort(checkpoints.begin(), checkpoints.end(),
            [](const CheckpointFile& a, const CheckpointFile& b) { return a.step < b.step; });
  return checkpoints;
}

std::optional<std::string> latest_checkpoint(const std::string& run_dir) {
  const std::vector<CheckpointFile> checkpoints = list_checkpoints(run_dir);
  if (checkpoints.empty()) return std::nullopt;
  return checkpoints.back().path;
}

void prune_checkpoints(const std::string& run_dir, int keep) {
  KRAIT_CHECK(keep >= 1, "prune_checkpoints: keep must be at least 1, got ", keep);
  const std::vector<CheckpointFile> checkpoints = list_checkpoints(run_dir);
  const size_t excess =
      checkpoints.size() > static_cast<size_t>(keep) ? checkpoints.size() - keep : 0;
  for (size_t i = 0; i < excess; ++i) remove_file(checkpoints[i].path);
}

void remove_stale_temp_files(const std::string& run_dir) {
  for (const fs::path& file : files_in(checkpoint_dir(run_dir))) {
    const std::string name = file.filename().string();
    if (name.ends_with(kTempSuffix) &&
        step_of(name.substr(0, name.size() - std::string(kTempSuffix).size())))
      remove_file(file);
  }
}

void check_checkpoint_dir_writable(const std::string& run_dir) {
  const std::string dir = checkpoint_dir(run_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  KRAIT_CHECK(!ec, "cannot create the checkpoint directory ", dir, ": ", ec.message());
  const std::string probe = (fs::path(dir) / (".write-test-" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  KRAIT_CHECK(fd >= 0, "cannot write checkpoints to ", dir, ": ", std::strerror(errno),
              " (checked before the first step, so no training is lost)");
  ::close(fd);
  remove_file(probe);
}

}  // namespace krait
