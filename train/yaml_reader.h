// train/yaml_reader.h — strict reading of YAML configuration documents: KeyLocations (where each
// key path came from, for error messages), apply_override (`--set key.path=value`), MapReader
// (typed reads of one mapping that reject wrong types, duplicate keys and keys nobody asked for),
// load_yaml_file and format_number.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace krait::train {

// Where the keys of a document came from: "file:line" for keys read from the file, the override
// text ("--set model.d_model=3") for keys an override set, and everything under them.
// With an empty file name (a document that came from no file) locations are "".
class KeyLocations {
 public:
  explicit KeyLocations(std::string file) : file_(std::move(file)) {}

  void add_line(const std::string& key_path, const YAML::Mark& mark);  // ignores null marks
  void add_override(const std::string& key_path, const std::string& override_text);

  // The override that set key_path or a section above it; else the line of key_path, else of
  // the nearest section above it that has one; else the file name.
  std::string operator()(const std::string& key_path) const;
  // Throws krait::Error "<location of key_path>: <message>" ("<message>" where that is "").
  [[noreturn]] void fail(const std::string& key_path, const std::string& message) const;
  // As fail, located at the first of key_paths that an override set, else at the first that the
  // file holds, else at the first of them.
  [[noreturn]] void fail_at_first_given(const std::vector<std::string>& key_paths,
                                        const std::string& message) const;

 private:
  const std::string* override_of(const std::string& key_path) const;

  std::string file_;
  std::map<std::string, int> lines_;  // 1-based
  std::map<std::string, std::string> overrides_;
};

// Applies `assignment` ("model.d_model=128": a dotted key path, '=', a YAML value) to the
// document root, creating missing sections; KeyLocations then attributes the key (or the first
// section it created) to label. Throws naming label when the assignment is malformed.
void apply_override(YAML::Node& root, const std::string& assignment, const std::string& label,
                    KeyLocations& where);

// The YAML document in the file at path; throws krait::Error "cannot open <what> '<path>'" or
// "<path>:<line>: invalid YAML (column c): ..." .
YAML::Node load_yaml_file(const std::string& path, const std::string& what);

// The shortest text that reads back as the same double: "0.1", "0.0005", "3", "1e-05".
std::string format_number(double value);

// Reads one mapping. Each read names a key the mapping may hold and returns whether it was there;
// finish() then rejects any other key, listing the allowed ones.
class MapReader {
 public:
  // node: a mapping, or null / undefined (read as empty). path: its key path, "" for the root.
  MapReader(const YAML::Node& node, std::string path, KeyLocations& where);

  bool read(const std::string& key, int64_t& out);  // exact integers; 2.5e9 is allowed
  bool read(const std::string& key, double& out);   // finite numbers
  bool read(const std::string& key, bool& out);     // true | false
  bool read(const std::string& key, std::string& out);  // an empty value (null) reads as ""
  bool read(const std::string& key, std::vector<std::string>& out);  // a list of strings
  template <typename T>
  bool read(const std::string& key, std::optional<T>& out) {
    T value{};
    if (!read(key, value)) return false;
    out = value;
    return true;
  }
  // An integer or "auto", which reads as 0.
  bool read_int_or_auto(const std::string& key, int64_t& out);
  // A list of exactly two numbers.
  bool read_pair(const std::string& key, double& first, double& second);
  // Which of choices are on: true (all), false (none) or a list naming some, each once. out gets
  // the chosen names in the order of choices.
  bool read_subset(const std::string& key, std::vector<std::string>& out, const std::vector<std::string>& choices);
  // One of the names in choices.
  template <typename E>
  bool read_choice(const std::string& key, E& out,
                   const std::vector<std::pair<std::string, E>>& choices) {
    std::string name;
    if (!read(key, name)) return false;
    for (const auto& [choice, value] : choices) {
      if (choice == name) {
        out = value;
        return true;
      }
    }
    std::string names;
    for (const auto& choice : choices) names += (names.empty() ? "" : ", ") + choice.first;
    where_.fail(path_of(key), path_of(key) + ": expected one of " + names + ", got '" + name + "'");
  }
  // The mapping under key (empty when absent).
  MapReader section(const std::string& key);
  // The raw value under key (undefined when absent), for shapes the typed reads do not cover
  // (lists of mappings); the key becomes allowed.
  YAML::Node node(const std::string& key) { return value(key); }
  // Throws naming key when the mapping lacks it.
  void require(const std::string& key) const;
  // Throws naming the first key that no read asked for.
  void finish() const;

 private:
  // The value under key, or an undefined node; either way key becomes allowed.
  YAML::Node value(const std::string& key);
  std::string path_of(const std::string& key) const;
  [[noreturn]] void wrong_type(const std::string& key, const char* expected,
                               const YAML::Node& got) const;

  std::string path_;
  KeyLocations& where_;
  std::vector<std::pair<std::string, YAML::Node>> entries_;
  std::vector<std::string> allowed_;
};

}  // namespace krait::train
