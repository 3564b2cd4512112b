// tests/data/error_text.h — the shared error assertions (tests/support/error_text.h), in the data
// tests' namespace.
#pragma once

#include "tests/support/error_text.h"

namespace krait::data::testing {
using krait::testing::error_text;
using krait::testing::mentions;
}  // namespace krait::data::testing
