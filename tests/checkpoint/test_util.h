// tests/checkpoint/test_util.h — the shared temp directory, file helpers and error assertions
// (tests/support/) in the checkpoint tests' namespace.
#pragma once

#include "tests/support/error_text.h"
#include "tests/support/temp_dir.h"

namespace krait::checkpoint_testing {

using krait::testing::error_text;
using krait::testing::mentions;
using krait::testing::TempDir;
using krait::testing::write_text;

}  // namespace krait::checkpoint_testing
