// fuzz/fuzz_input.h — what every fuzz target shares: the input handed to a reader as a file (Krait's
// readers take paths), and the rule that a krait::Error is a reader rejecting bad bytes, a normal
// outcome. Anything else (a crash, a sanitizer report, any other exception escaping to libFuzzer) is
// a finding.
#pragma once

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"

namespace krait::fuzz {

// A directory of this process's own under the system temp path, removed when the process exits
// normally, so that several fuzzers (or libFuzzer's -jobs) never share a file.
class ProcessTempDir {
 public:
  ProcessTempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "krait-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ::abort();
    path_ = pattern;
  }
  ~ProcessTempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The path of `name` in the process's temp dir.
inline std::string temp_path(const std::string& name) {
  static const ProcessTempDir dir;
  return (dir.path() / name).string();
}

// Writes the input to `name` in the process's temp dir, replacing the last input, and returns its path.
inline std::string write_input(const uint8_t* data, size_t size, const std::string& name = "input") {
  const std::string path = temp_path(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) ::abort();  // the temp file system is full: no input could be tested
  return path;
}

// Runs read(), treating a krait::Error as a clean rejection; any other exception propagates.
template <typename Read>
void expect_clean(Read&& read) {
  try {
    read();
  } catch (const Error&) {
  }
}

}  // namespace krait::fuzz
