// train/recipe_section_reader.cpp — RecipeSectionReader: MapReader held to the recipe key table.
#include "train/recipe_section_reader.h"

#include <algorithm>

#include "common/error.h"

namespace krait::train {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace

RecipeSectionReader::RecipeSectionReader(const YAML::Node& node, std::string section, KeyLocations& where)
    : in_(node, section, where), section_(std::move(section)), where_(where) {}

std::string RecipeSectionReader::path_of(const std::string& key) const {
  return section_.empty() ? key : section_ + "." + key;
}

void RecipeSectionReader::expect(const std::string& key, KeyType type, const std::vector<std::string>& choices) {
  const std::string for_backbone = backbone_.empty() ? "" : " (model.backbone " + backbone_ + ")";
  const RecipeKey* described = find_recipe_key(section_, key, backbone_);
  KRAIT_CHECK(described, "recipe key '", path_of(key), "' is read", for_backbone,
              " but train/recipe_keys.cpp does not describe it");
  KRAIT_CHECK(described->type == type, "recipe key '", path_of(key), "' is read as ", key_type_name(type),
              " but train/recipe_keys.cpp describes it as ", key_type_name(described->type));
  KRAIT_CHECK(described->choices == choices, "recipe key '", path_of(key), "' is read with the names ",
              joined(choices), " but train/recipe_keys.cpp gives ", joined(described->choices));
  read_.push_back(key);
}

RecipeSectionReader RecipeSectionReader::section(const std::string& name) {
  KRAIT_CHECK(section_.empty(), "recipe section '", name, "' read inside '", section_, "'");
  const auto& sections = recipe_sections();
  const bool described = std::any_of(sections.begin(), sections.end(),
                                     [&](const RecipeSection& s) { return s.name == name; });
  KRAIT_CHECK(described, "recipe section '", name, "' is read but train/recipe_keys.cpp does not describe it");
  read_.push_back(name);
  return RecipeSectionReader(in_.node(name), name, where_);
}

void RecipeSectionReader::finish() const {
  in_.finish();
  const auto was_read = [&](const std::string& name) {
    return std::find(read_.begin(), read_.end(), name) != read_.end();
  };
  for (const RecipeKey& key : recipe_keys()) {
    if (key.section != section_ || !key.applies_to(backbone_)) continue;
    KRAIT_CHECK(was_read(key.name), "recipe key '", key.path(),
                "' is described in train/recipe_keys.cpp but the recipe reader does not read it");
  }
  if (!section_.empty()) return;
  for (const RecipeSection& section : recipe_sections()) {
    KRAIT_CHECK(was_read(section.name), "recipe section '", section.name,
                "' is described in train/recipe_keys.cpp but the recipe reader does not read it");
  }
}

}  // namespace krait::train
