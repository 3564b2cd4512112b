// fuzz/json.cpp — fuzzes the strict JSON reader (common/json.h, parse_json) and the accessors that
// turn numbers into integers and doubles; every string of a document it accepts must survive
// json_quote and parse back unchanged.
#include "common/json.h"

#include <optional>
#include <string>

#include "fuzz/fuzz_input.h"

namespace {

void visit(const krait::JsonValue& value) {
  using Kind = krait::JsonValue::Kind;
  krait::json_kind_name(value);
  if (value.kind == Kind::Number) {
    if (value.is_integer()) value.integer();
    krait::fuzz::expect_clean([&] { value.number(); });  // a literal beyond a double's range is an error
  }
  if (value.kind == Kind::String) {
    const auto quoted = krait::parse_json(krait::json_quote(value.text), "quoted");
    if (quoted.kind != Kind::String || quoted.text != value.text) __builtin_trap();
  }
  for (const auto& item : value.items) visit(item);
  for (const auto& [key, member] : value.members) {
    if (value.find(key) != &member) __builtin_trap();
    visit(member);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<krait::JsonValue> value;
  krait::fuzz::expect_clean(
      [&] { value = krait::parse_json(std::string(reinterpret_cast<const char*>(data), size), "input"); });
  if (value) visit(*value);
  return 0;
}
