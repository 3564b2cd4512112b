// tools/plot/metrics_reader.cpp — parse_record, parse_metrics and read_metrics (see metrics_reader.h).
#include "tools/plot/metrics_reader.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <set>
#include <string_view>

#include "common/error.h"
#include "common/utf8.h"

namespace krait::plot {
namespace {

// A parsed JSON value; only strings and numbers carry anything the reader keeps.
struct Value {
  enum class Type { string, number, other };
  Type type = Type::other;
  std::string text;
  double number = 0;
};

// Parses one line; positions in errors are 1-based columns.
class LineParser {
 public:
  LineParser(std::string_view line, const std::string& where) : s_(line), where_(where) {}

  Record parse() {
    Record record;
    std::set<std::string> keys;
    skip_space();
    expect('{');
    skip_space();
    if (!consume('}')) {
      do {
        skip_space();
        const size_t key_at = pos_;
        const std::string key = parse_string();
        if (!keys.insert(key).second) fail_at(key_at, "duplicate key \"" + key + "\"");
        skip_space();
        expect(':');
        skip_space();
        const size_t value_at = pos_;
        const Value value = parse_value();
        if (key == "kind") {
          if (value.type != Value::Type::string) fail_at(value_at, "\"kind\" must be a string");
          record.kind = value.text;
        } else if (value.type == Value::Type::number) {
          record.values[key] = value.number;
        }
        skip_space();
      } while (consume(','));
      expect('}');
      skip_space();
    }
    if (pos_ != s_.size()) fail_at(pos_, "unexpected text after the object");
    if (!keys.contains("kind")) fail_at(0, "the object has no \"kind\"");
    return record;
  }

 private:
  [[noreturn]] void fail_at(size_t at, const std::string& message) const {
    throw Error(where_ + ":" + std::to_string(at + 1) + ": " + message);
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  bool is_digit() const { return !at_end() && s_[pos_] >= '0' && s_[pos_] <= '9'; }

  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\r' || peek() == '\n')) ++pos_;
  }

  bool consume(char c) {
    if (at_end() || s_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  void expect(char c) {
    if (consume(c)) return;
    const std::string found = at_end() ? "end of line" : "'" + std::string(1, peek()) + "'";
    fail_at(pos_, std::string("expected '") + c + "', found " + found);
  }

  void expect_word(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) fail_at(pos_, "expected a value");
    pos_ += word.size();
  }

  Value parse_value() {
    Value value;
    switch (peek()) {
      case '"':
        value.type = Value::Type::string;
        value.text = parse_string();
        break;
      case 't': expect_word("true"); break;
      case 'f': expect_word("false"); break;
      case 'n': expect_word("null"); break;
      case '{': fail_at(pos_, "nested objects are not supported");
      case '[':
        skip_array();
        break;
      default:
        value.type = Value::Type::number;
        value.number = parse_number();
    }
    return value;
  }

  // An array (e.g. a confusion matrix) is checked for well-formedness and left out of the record.
  void skip_array() {
    expect('[');
    skip_space();
    if (consume(']')) return;
    do {
      skip_space();
      parse_value();
      skip_space();
    } while (consume(','));
    expect(']');
  }

  // JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  double parse_number() {
    const size_t start = pos_;
    consume('-');
    if (!is_digit()) fail_at(pos_, "expected a value");
    if (!consume('0'))
      while (is_digit()) ++pos_;
    if (consume('.')) digits("a digit after '.'");
    if (consume('e') || consume('E')) {
      if (!consume('+')) consume('-');
      digits("a digit in the exponent");
    }
    double number = 0;
    const auto [end, ec] = std::from_chars(s_.data() + start, s_.data() + pos_, number);
    if (ec != std::errc() || end != s_.data() + pos_) fail_at(start, "number out of range");
    return number;
  }

  void digits(const char* what) {
    if (!is_digit()) fail_at(pos_, std::string("expected ") + what);
    while (is_digit()) ++pos_;
  }

  std::string parse_string() {
    expect('"');
    std::string text;
    while (true) {
      if (at_end()) fail_at(pos_, "unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return text;
      if (static_cast<unsigned char>(c) < 0x20) fail_at(pos_ - 1, "control character in a string");
      if (c != '\\') {
        text += c;
        continue;
      }
      const char e = peek();
      ++pos_;
      switch (e) {
        case '"': case '\\': case '/': text += e; break;
        case 'b': text += '\b'; break;
        case 'f': text += '\f'; break;
        case 'n': text += '\n'; break;
        case 'r': text += '\r'; break;
        case 't': text += '\t'; break;
        case 'u': append_utf8(text, parse_code_point()); break;
        default: fail_at(pos_ - 1, "invalid escape in a string");
      }
    }
  }

  // The code point of a \uXXXX escape (after the 'u'), joining a UTF-16 surrogate pair.
  uint32_t parse_code_point() {
    const size_t at = pos_ - 2;
    uint32_t code = hex4();
    if (code >= 0xDC00 && code <= 0xDFFF) fail_at(at, "unpaired surrogate in a string");
    if (code >= 0xD800 && code <= 0xDBFF) {
      if (!consume('\\') || !consume('u')) fail_at(at, "unpaired surrogate in a string");
      const uint32_t low = hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail_at(at, "unpaired surrogate in a string");
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    return code;
  }

  uint32_t hex4() {
    uint32_t code = 0;
    const auto [end, ec] = std::from_chars(s_.data() + pos_, s_.data() + std::min(pos_ + 4, s_.size()), code, 16);
    if (ec != std::errc() || end != s_.data() + pos_ + 4) fail_at(pos_, "expected 4 hex digits after \\u");
    pos_ += 4;
    return code;
  }

  std::string_view s_;
  const std::string& where_;
  size_t pos_ = 0;
};

}  // namespace

Record parse_record(const std::string& line, const std::string& where) {
  return LineParser(line, where).parse();
}

std::vector<Record> parse_metrics(std::istream& in, const std::string& name) {
  std::vector<Record> records;
  int line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    records.push_back(parse_record(line, name + ":" + std::to_string(line_number)));
  }
  if (in.bad()) throw Error(name + ": read error after line " + std::to_string(line_number));
  return records;
}

std::vector<Record> read_metrics(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the metrics file");
  return parse_metrics(in, path);
}

}  // namespace krait::plot
