// tests/checkpoint/test_util.h — a fresh directory per test, raw file helpers, and assertions on
// what a krait::Error says, for the checkpoint tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "common/error.h"

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

// The message of the krait::Error that action throws, or "" (and a test failure) if it throws none.
inline std::string error_text(const std::function<void()>& action) {
  try {
    action();
  } catch (const krait::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a krait::Error";
  return "";
}

inline ::testing::AssertionResult mentions(const std::string& message, const std::string& part) {
  if (message.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << message << "\" does not mention \"" << part << "\"";
}

}  // namespace krait::checkpoint_testing
