// common/json.h — JsonValue and parse_json: a small, strict JSON (RFC 8259) reader for the files Krait
// reads from other tools (Hugging Face's config.json and tokenizer.json, safetensors headers,
// sharded-weight indexes, GPT-2's encoder.json), and json_quote for writing strings. Numbers keep their literal text, so 64-bit integers (byte
// offsets) read back exactly.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace krait {

struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;  // a String's value, or a Number's literal
  std::vector<JsonValue> items;                             // an Array's elements
  std::vector<std::pair<std::string, JsonValue>> members;   // an Object's, in file order, keys unique

  // Declared so that clang (with libstdc++) need not decide whether JsonValue is implicitly default
  // constructible while checking std::pair<std::string, JsonValue>, before JsonValue is complete.
  JsonValue() = default;

  bool is_object() const { return kind == Kind::Object; }
  // An object's member, or nullptr.
  const JsonValue* find(const std::string& key) const;
  // A Number written without fraction or exponent that fits in int64_t.
  bool is_integer() const;
  int64_t integer() const;  // requires is_integer()
  double number() const;    // requires kind == Number
};

// The kind's name as a JSON schema would say it ("object", "integer" for integral numbers, ...).
std::string json_kind_name(const JsonValue& value);

// Parses one JSON document (surrounding whitespace allowed). Throws krait::Error naming `where` and
// the byte offset on malformed text, a duplicate object key, or nesting deeper than 64.
JsonValue parse_json(const std::string& text, const std::string& where);

// `text` as a JSON string literal, quotes included.
std::string json_quote(const std::string& text);

}  // namespace krait
