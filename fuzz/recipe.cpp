// fuzz/recipe.cpp — fuzzes the YAML recipe reader (train/recipe.h, parse_recipe, through
// train/yaml_reader.h's strict MapReader): a recipe it accepts must write back (to_yaml) as text
// that parses, without error, to a recipe writing the same text.
#include "train/recipe.h"

#include <optional>

#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using krait::train::parse_recipe;
  using krait::train::to_yaml;
  std::optional<krait::train::Recipe> recipe;
  const std::string text(reinterpret_cast<const char*>(data), size);
  krait::fuzz::expect_clean([&] { recipe = parse_recipe(text, "input.yaml"); });
  if (!recipe) return 0;
  const std::string written = to_yaml(*recipe);
  if (to_yaml(parse_recipe(written, "written.yaml")) != written) __builtin_trap();
  return 0;
}
