// tests/support/error_text.h — assertions on what a krait::Error says.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "common/error.h"

namespace krait::testing {

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

// Asserts that action throws a krait::Error whose message mentions every one of parts.
inline void expect_error(const std::function<void()>& action, const std::vector<std::string>& parts) {
  const std::string message = error_text(action);
  if (message.empty()) return;  // error_text has reported the missing error
  for (const std::string& part : parts) EXPECT_TRUE(mentions(message, part));
}

}  // namespace krait::testing
