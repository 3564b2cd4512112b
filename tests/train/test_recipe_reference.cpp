// tests/train/test_recipe_reference.cpp — the recipe reference (`krait recipe --describe`): one row
// per described key, and docs/recipe.md equal to it.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "train/recipe_keys.h"
#include "train/recipe_reference.h"

namespace krait::train {
namespace {

TEST(RecipeReference, DocsRecipeMdIsTheGeneratedReference) {
  const std::string path = KRAIT_SOURCE_DIR "/docs/recipe.md";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "cannot open " << path;
  const std::string committed{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_TRUE(committed == recipe_reference_markdown())
      << "docs/recipe.md is stale: regenerate it with build/train/krait recipe --describe > docs/recipe.md";
}

TEST(RecipeReference, OneRowPerDescribedKey) {
  std::istringstream lines(recipe_reference_markdown());
  std::multiset<std::string> rows;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| `", 0) == 0) rows.insert(line.substr(0, line.rfind(" | ")));  // all but the meaning
  }
  EXPECT_EQ(rows.size(), recipe_keys().size());
  for (const RecipeKey& key : recipe_keys()) {
    const std::string start = "| `" + key.name + "` | " + key_type_name(key.type) + " | ";
    const auto row =
        std::find_if(rows.begin(), rows.end(), [&](const std::string& r) { return r.rfind(start, 0) == 0; });
    ASSERT_NE(row, rows.end()) << key.path() << " has no row";
    rows.erase(row);
  }
}

TEST(RecipeReference, SaysHowToRegenerateItself) {
  EXPECT_NE(recipe_reference_markdown().find("krait recipe --describe > docs/recipe.md"), std::string::npos);
}

}  // namespace
}  // namespace krait::train
