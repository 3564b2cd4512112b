// tests/support/error_text.h — assertions on what a krait::Error says.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

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

}  // namespace krait::testing
