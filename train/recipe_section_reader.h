// train/recipe_section_reader.h — RecipeSectionReader: MapReader for the top level or one section of
// a recipe that reads only keys the recipe key table (recipe_keys.h) describes, with the type (and
// for choices the names) it gives, and whose finish() checks that every key the table gives the
// section was read. The keys a recipe may hold are thus exactly the documented ones; a mismatch is
// a bug in Krait, and every recipe read reports it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "train/recipe_keys.h"
#include "train/yaml_reader.h"

namespace krait::train {

class RecipeSectionReader {
 public:
  // node: the document root (section "") or a section's mapping; where: as MapReader's.
  RecipeSectionReader(const YAML::Node& node, std::string section, KeyLocations& where);

  // The model section's backbone, once read: from then on its keys are described too.
  void choose_backbone(std::string backbone) { backbone_ = std::move(backbone); }

  bool read(const std::string& key, int64_t& out) {
    expect(key, KeyType::Integer);
    return in_.read(key, out);
  }
  bool read(const std::string& key, std::optional<int64_t>& out) {
    expect(key, KeyType::Integer);
    return in_.read(key, out);
  }
  bool read(const std::string& key, double& out) {
    expect(key, KeyType::Number);
    return in_.read(key, out);
  }
  bool read(const std::string& key, bool& out) {
    expect(key, KeyType::Boolean);
    return in_.read(key, out);
  }
  bool read(const std::string& key, std::string& out) {
    expect(key, KeyType::String);
    return in_.read(key, out);
  }
  bool read(const std::string& key, std::vector<std::string>& out) {
    expect(key, KeyType::StringList);
    return in_.read(key, out);
  }
  bool read_int_or_auto(const std::string& key, int64_t& out) {
    expect(key, KeyType::IntegerOrAuto);
    return in_.read_int_or_auto(key, out);
  }
  bool read_pair(const std::string& key, double& first, double& second) {
    expect(key, KeyType::NumberPair);
    return in_.read_pair(key, first, second);
  }
  bool read_subset(const std::string& key, std::vector<std::string>& out, const std::vector<std::string>& choices) {
    expect(key, KeyType::Subset, choices);
    return in_.read_subset(key, out, choices);
  }
  template <typename E>
  bool read_choice(const std::string& key, E& out, const std::vector<std::pair<std::string, E>>& choices) {
    std::vector<std::string> names;
    for (const auto& choice : choices) names.push_back(choice.first);
    expect(key, KeyType::Choice, names);
    return in_.read_choice(key, out, choices);
  }
  // The section called name (top level only).
  RecipeSectionReader section(const std::string& name);
  void require(const std::string& key) const { in_.require(key); }
  // MapReader::finish (a key nobody read is unknown), then: every key the table describes here was read.
  void finish() const;

 private:
  // Throws unless the table describes key here as type (with these choices); records it as read.
  void expect(const std::string& key, KeyType type, const std::vector<std::string>& choices = {});
  std::string path_of(const std::string& key) const;

  MapReader in_;
  std::string section_, backbone_;
  KeyLocations& where_;
  std::vector<std::string> read_;
};

}  // namespace krait::train
