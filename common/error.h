// common/error.h — krait::Error, the one exception type library code throws, and KRAIT_CHECK,
// which throws it with the failing condition's file:line and a message built from stream pieces.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace krait {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Parts>
[[noreturn]] void throw_error(const char* file, int line, const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  os << " [" << file << ":" << line << "]";
  throw Error(os.str());
}
}  // namespace detail

}  // namespace krait

// KRAIT_CHECK(cond, "op: expected ", a, " got ", b) — throws krait::Error naming the source location.
#define KRAIT_CHECK(cond, ...)                                          \
  do {                                                                  \
    if (!(cond)) ::krait::detail::throw_error(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define KRAIT_FAIL(...) ::krait::detail::throw_error(__FILE__, __LINE__, __VA_ARGS__)
