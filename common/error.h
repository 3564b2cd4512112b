// common/error.h — krait::Error, the exception type library code throws, and KRAIT_CHECK, which
// throws it with the failing condition's file:line and a message built from stream pieces.
// OutOfMemoryError (a krait::Error) is thrown when a device allocation fails for lack of memory, so
// callers can tell "smaller batch, please" from a bug; KRAIT_FAIL_OOM throws it.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace krait {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A device allocation failed for lack of memory (cudaErrorMemoryAllocation). The message names the
// requested bytes, the device and the allocator's in-use and reserved bytes. Any other allocation
// failure (an invalid device, a sticky error from an earlier kernel) is a plain Error.
class OutOfMemoryError : public Error {
 public:
  using Error::Error;
};

namespace detail {
// Throws E (Error or a subclass) with the message parts followed by " [file:line]".
template <typename E, typename... Parts>
[[noreturn]] void throw_error_as(const char* file, int line, const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  os << " [" << file << ":" << line << "]";
  throw E(os.str());
}
template <typename... Parts>
[[noreturn]] void throw_error(const char* file, int line, const Parts&... parts) {
  throw_error_as<Error>(file, line, parts...);
}
}  // namespace detail

}  // namespace krait

// KRAIT_CHECK(cond, "op: expected ", a, " got ", b) — throws krait::Error naming the source location.
#define KRAIT_CHECK(cond, ...)                                          \
  do {                                                                  \
    if (!(cond)) ::krait::detail::throw_error(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define KRAIT_FAIL(...) ::krait::detail::throw_error(__FILE__, __LINE__, __VA_ARGS__)

// KRAIT_FAIL_OOM("cuda:0: asked for ", bytes, " bytes ...") — throws krait::OutOfMemoryError.
#define KRAIT_FAIL_OOM(...) ::krait::detail::throw_error_as<::krait::OutOfMemoryError>(__FILE__, __LINE__, __VA_ARGS__)
