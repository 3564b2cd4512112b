// train/recipe_reference.h — the recipe reference: every key of the recipe key table
// (recipe_keys.h) with its type, default, allowed values and meaning, as markdown. `krait recipe
// --describe` prints it and docs/recipe.md is a copy (a test keeps the copy current).
#pragma once

#include <string>

namespace krait::train {

std::string recipe_reference_markdown();

}  // namespace krait::train
