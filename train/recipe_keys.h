// train/recipe_keys.h — the recipe's keys described once: section, name, type, default, allowed
// values, meaning and the backbones a model key belongs to. The recipe reader reads every key
// through RecipeSectionReader (recipe_section_reader.h), which accepts exactly the keys and types
// this table gives, and the reference (`krait recipe --describe`, docs/recipe.md) is written from it,
// so the two cannot drift apart.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace krait::train {

// How a value is written in YAML; each is one of MapReader's typed reads.
enum class KeyType {
  Integer,        // exact integers (2.5e9 too)
  IntegerOrAuto,  // an integer, or auto (stored as 0)
  Number,         // a finite number
  NumberPair,     // [a, b]
  Boolean,        // true | false
  String,         // an empty value reads as ""
  StringList,     // [a, b, ...]
  Choice,         // one of choices
  Subset,         // true (all of choices), false (none) or a list of some
};

struct RecipeKey {
  std::string section;  // "" for the top level
  std::string name;
  KeyType type;
  std::string default_value;  // as to_yaml writes it ("auto", "\"\"", "[]"); "" when there is none
  std::vector<std::string> choices;  // Choice and Subset: the reader's names, in its order
  // What the validator accepts of a number, worded as its message ("> 0", ">= 1", "in [1, 16]").
  std::string range;
  std::string meaning;  // one line
  std::vector<std::string> backbones;  // model keys of some backbones only; empty = every backbone

  std::string path() const { return section.empty() ? name : section + "." + name; }
  bool applies_to(std::string_view backbone) const;
};

struct RecipeSection {
  std::string name;
  std::string meaning;  // one line
};

// The sections under the top level, in the reader's order.
const std::vector<RecipeSection>& recipe_sections();
// Every key of every section, in the reference's order.
const std::vector<RecipeKey>& recipe_keys();
// The key called name in section for backbone ("": a key of every backbone), or nullptr.
const RecipeKey* find_recipe_key(std::string_view section, std::string_view name, std::string_view backbone);
// "integer", "integer or auto", "true or false", ... as the reference names it.
const char* key_type_name(KeyType type);

}  // namespace krait::train
