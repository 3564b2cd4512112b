// tests/checkpoint/test_util.h — a fresh directory per test, raw file helpers, and assertions on
// what a krait::Error says, for the checkpoint tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/error_text.h"

namespace krait::checkpoint_testing {

// A directory under the system temp path, unique to the running test, removed when it ends.
class TempDir {
 public:
  TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() / ("krait_ckpt_" + std::string(test->test_suite_name()) + "_" +
                                                      test->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }

  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

using krait::testing::error_text;
using krait::testing::mentions;

}  // namespace krait::checkpoint_testing
