// train/yaml_reader.cpp — KeyLocations, apply_override, MapReader and format_number.
#include "train/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <system_error>

#include "common/error.h"

namespace krait::train {
namespace {

// The section above a key path ("model" for "model.d_model", "" for "model").
std::string parent_of(const std::string& key_path) {
  const size_t dot = key_path.rfind('.');
  return dot == std::string::npos ? "" : key_path.substr(0, dot);
}

std::optional<double> parse_double(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || stop != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<int64_t> parse_int(const std::string& text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc() && stop == end) return value;
  // Exponent notation for exact integers: 2.5e9.
  const std::optional<double> real = parse_double(text);
  if (real && *real == std::floor(*real) && std::fabs(*real) < 9.2e18) {
    return static_cast<int64_t>(*real);
  }
  return std::nullopt;
}

// A node as it would be written in flow style, for "got ..." in messages.
std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  YAML::Emitter out;
  out << YAML::Flow << node;
  return std::string("'") + out.c_str() + "'";
}

[[noreturn]] void not_a_mapping(const KeyLocations& where, const std::string& path,
                                const YAML::Node& node) {
  where.fail(path, path.empty()
                       ? "expected a mapping of sections at the top level, got " + describe(node)
                       : path + ": expected a mapping, got " + describe(node));
}

std::vector<std::string> split_key_path(const std::string& key_path) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = key_path.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(key_path.substr(start, dot - start));
  }
  parts.push_back(key_path.substr(start));
  return parts;
}

}  // namespace

std::string format_number(double value) {
  // Plain digits for everyday magnitudes ("0.0005", not "5e-04"), exponents beyond them.
  const double magnitude = std::fabs(value);
  const bool plain = magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e16);
  char text[400];
  const auto [end, ec] =
      plain ? std::to_chars(text, text + sizeof(text), value, std::chars_format::fixed)
            : std::to_chars(text, text + sizeof(text), value);
  return std::string(text, end);
}

void KeyLocations::add_line(const std::string& key_path, const YAML::Mark& mark) {
  if (!mark.is_null()) lines_[key_path] = mark.line + 1;
}

void KeyLocations::add_override(const std::string& key_path, const std::string& override_text) {
  overrides_[key_path] = override_text;
}

const std::string* KeyLocations::override_of(const std::string& key_path) const {
  for (std::string path = key_path; !path.empty(); path = parent_of(path)) {
    if (auto it = overrides_.find(path); it != overrides_.end()) return &it->second;
  }
  return nullptr;
}

std::string KeyLocations::operator()(const std::string& key_path) const {
  if (const std::string* text = override_of(key_path)) return *text;
  for (std::string path = key_path; !path.empty(); path = parent_of(path)) {
    if (auto it = lines_.find(path); it != lines_.end()) {
      return file_ + ":" + std::to_string(it->second);
    }
  }
  return file_;
}

void KeyLocations::fail(const std::string& key_path, const std::string& message) const {
  const std::string location = (*this)(key_path);
  throw Error(location.empty() ? message : location + ": " + message);
}

void KeyLocations::fail_at_first_given(const std::vector<std::string>& key_paths,
                                       const std::string& message) const {
  for (const std::string& path : key_paths) {
    if (override_of(path)) fail(path, message);
  }
  for (const std::string& path : key_paths) {
    if (lines_.count(path)) fail(path, message);
  }
  fail(key_paths.at(0), message);
}

void apply_override(YAML::Node& root, const std::string& assignment, const std::string& label,
                    KeyLocations& where) {
  const size_t eq = assignment.find('=');
  const std::string key_path = assignment.substr(0, eq);
  const std::vector<std::string> keys = split_key_path(key_path);
  const auto empty = [](const std::string& key) { return key.empty(); };
  if (eq == std::string::npos || std::any_of(keys.begin(), keys.end(), empty)) {
    throw Error(label + ": expected key.path=value, e.g. model.d_model=128");
  }
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::ParserException& e) {
    throw Error(label + ": invalid YAML value: " + e.msg);
  }

  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) not_a_mapping(where, "", root);
  YAML::Node section;
  section.reset(root);
  std::string path, created;  // created: the first section this assignment adds
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    path += (i ? "." : "") + keys[i];
    YAML::Node next = section[keys[i]];
    if (!next.IsDefined() || next.IsNull()) {
      if (created.empty()) created = path;
      section[keys[i]] = YAML::Node(YAML::NodeType::Map);
      next.reset(section[keys[i]]);
    } else if (!next.IsMap()) {
      throw Error(label + ": '" + path + "' is not a section (it holds " + describe(next) + ")");
    }
    section.reset(next);
  }
  section[keys.back()] = value;
  where.add_override(created.empty() ? key_path : created, label);
}

YAML::Node load_yaml_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + what + " '" + path + "'");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML (column " +
                std::to_string(e.mark.column + 1) + "): " + e.msg);
  }
}

MapReader::MapReader(const YAML::Node& node, std::string path, KeyLocations& where)
    : path_(std::move(path)), where_(where) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) not_a_mapping(where_, path_, node);
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      where_.fail(path_, "keys must be names, got " + describe(it->first));
    }
    const std::string& key = it->first.Scalar();
    const std::string key_path = path_of(key);
    for (const auto& entry : entries_) {
      if (entry.first == key) {
        const std::string first = where_(key_path);
        where_.add_line(key_path, it->first.Mark());
        where_.fail(key_path, "duplicate key '" + key_path + "' (first at " + first + ")");
      }
    }
    where_.add_line(key_path, it->first.Mark());
    entries_.emplace_back(key, it->second);
  }
}

std::string MapReader::path_of(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

YAML::Node MapReader::value(const std::string& key) {
  allowed_.push_back(key);
  for (const auto& [name, node] : entries_) {
    if (name == key) return node;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

void MapReader::wrong_type(const std::string& key, const char* expected,
                           const YAML::Node& got) const {
  where_.fail(path_of(key), path_of(key) + ": expected " + expected + ", got " + describe(got));
}

bool MapReader::read(const std::string& key, int64_t& out) {
  const YAML::Node node = value(key);
  if (!node.IsDefined()) return false;
  const std::optional<int64_t> parsed = node.IsScalar() ? parse_int(node.Scalar()) : std::nullopt;
  if (!parsed) wrong_type(key, "an integer", node);
  out = *parsed;
  return true;
}

bool MapReader::read(const std::string& key, double& out) {
  const YAML::Node node = value(key);
  if (!node.IsDefined()) return false;
  const std::optional<double> parsed = node.IsScalar() ? parse_double(node.Scalar()) : std::nullopt;
  if (!parsed) wrong_type(key, "a number", node);
  out = *parsed;
  return true;
}

bool MapReader::read(const std::string& key, bool& out) {
  const YAML::Node node = value(key);
  if (!node.IsDefined()) return false;
  const std::string text = node.IsScalar() ? node.Scalar() : "";
  if (text != "true" && text != "false") wrong_type(key, "true or false", node);
  out = text == "true";
  return true;
}

bool MapReader::read(const std::string& key, std::string& out) {
  const YAML::Node node = value(key);
  if (!node.IsDefined()) return false;
  if (node.IsNull()) {  // `key:` with nothing after it, e.g. --set train.init_from=
    out.clear();
    return true;
  }
  if (!node.IsScalar()) wrong_type(key, "a string", node);
  out = node.Scalar();
  return true;
}

bool MapReader::read(const std::string& key, std::vector<std::string>& out) {
  const YAML::Node node = value(key);
  if (!node.IsDefined()) return false;
  if (!node.IsSequence()) wrong_type(key, "a list of strings", node);
  out.clear();
  for (const YAML::Node& item : node) {
    if (!item.IsScalar()) wrong_type(key, "a list of strings", node);
    out.push_back(item.Scalar());
  }
  return true;
}

bool MapReader::read_int_or_auto(const std::string& key, int64_t& out) {
  const YAML::Node node = value(key);
  if (!node.IsDefined()) return false;
  if (node.IsScalar() && node.Scalar() == "auto") {
    out = 0;
    return true;
  }
  const std::optional<int64_t> parsed = node.IsScalar() ? parse_int(node.Scalar()) : std::nullopt;
  if (!parsed) wrong_type(key, "an integer or auto", node);
  out = *parsed;
  return true;
}

bool MapReader::read_pair(const std::string& key, double& first, double& second) {
  const YAML::Node node = value(key);
  if (!node.IsDefined()) return false;
  std::optional<double> a, b;
  if (node.IsSequence() && node.size() == 2 && node[0].IsScalar() && node[1].IsScalar()) {
    a = parse_double(node[0].Scalar());
    b = parse_double(node[1].Scalar());
  }
  if (!a || !b) wrong_type(key, "a list of two numbers", node);
  first = *a;
  second = *b;
  return true;
}

bool MapReader::read_subset(const std::string& key, std::vector<std::string>& out,
                            const std::vector<std::string>& choices) {
  const YAML::Node node = value(key);
  if (!node.IsDefined()) return false;
  std::string names;
  for (const std::string& choice : choices) names += (names.empty() ? "" : ", ") + choice;
  const std::string expected = "true, false or a list of " + names;
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
    out = node.Scalar() == "true" ? choices : std::vector<std::string>{};
    return true;
  }
  if (!node.IsSequence()) wrong_type(key, expected.c_str(), node);
  std::vector<bool> chosen(choices.size(), false);
  for (const YAML::Node& item : node) {
    const auto it = item.IsScalar() ? std::find(choices.begin(), choices.end(), item.Scalar()) : choices.end();
    if (it == choices.end()) wrong_type(key, expected.c_str(), node);
    if (chosen[it - choices.begin()]) {
      where_.fail(path_of(key), path_of(key) + ": '" + *it + "' is listed twice");
    }
    chosen[it - choices.begin()] = true;
  }
  out.clear();
  for (size_t i = 0; i < choices.size(); ++i)
    if (chosen[i]) out.push_back(choices[i]);
  return true;
}

MapReader MapReader::section(const std::string& key) {
  return MapReader(value(key), path_of(key), where_);
}

void MapReader::require(const std::string& key) const {
  for (const auto& entry : entries_) {
    if (entry.first == key) return;
  }
  where_.fail(path_, "missing required key '" + path_of(key) + "'");
}

void MapReader::finish() const {
  for (const auto& [key, node] : entries_) {
    bool known = false;
    for (const std::string& name : allowed_) known = known || name == key;
    if (known) continue;
    std::string names;
    for (const std::string& name : allowed_) names += (names.empty() ? "" : ", ") + name;
    if (path_.empty()) {
      where_.fail(key, "unknown section '" + key + "'; allowed sections: " + names);
    }
    where_.fail(path_of(key),
                "unknown key '" + path_of(key) + "'; allowed keys in '" + path_ + "': " + names);
  }
}

}  // namespace krait::train
