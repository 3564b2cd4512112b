// tests/train/test_recipe_keys.cpp — the recipe key table (train/recipe_keys.h) against the reader
// and validator: every described key is accepted with its default (or a valid value) and every other
// key is unknown; the defaults are what the reader fills in; each numeric range is the one the
// validator enforces; and RecipeSectionReader refuses keys, types and choices the table lacks.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "tests/train/recipe_text.h"
#include "train/recipe_keys.h"
#include "train/recipe_section_reader.h"

namespace krait::train {
namespace {

using testing::kMinimal;
using testing::kName;
using testing::mentions;
using testing::text_of;

// Overrides that turn kMinimal into a recipe of the backbone.
std::vector<std::string> backbone_overrides(const std::string& backbone) {
  if (backbone == "transformer") return {"model.backbone=transformer", "model.n_head=2"};
  if (backbone == "moe-mamba") return {"model.backbone=moe-mamba", "model.moe_experts=4"};
  return {"model.backbone=" + backbone};
}

// The error parsing kMinimal for the backbone with overrides raises, or "" when it parses.
std::string error_for(const std::string& backbone, const std::vector<std::string>& overrides) {
  std::vector<std::string> all = backbone_overrides(backbone);
  all.insert(all.end(), overrides.begin(), overrides.end());
  try {
    parse_recipe(text_of(kMinimal), kName, all);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The backbones a key is tried under: its own, or all of them.
std::vector<std::string> backbones_of(const RecipeKey& key) {
  return key.backbones.empty() ? backbone_names() : key.backbones;
}

// `--set` text giving the key value. The run length is a whole schedule: kMinimal has total_steps.
std::string assignment(const RecipeKey& key, const std::string& value) {
  if (key.path() == "schedule.total_tokens") return "schedule={total_tokens: " + value + "}";
  return key.path() + "=" + value;
}

// A value the validator accepts in kMinimal for the backbone: the default, the first choice, or for
// keys without either, one that fits.
std::string valid_value(const RecipeKey& key, const std::string& backbone) {
  if (key.path() == "model.backbone") return backbone;
  if (!key.default_value.empty()) return key.default_value;
  if (key.type == KeyType::Choice) return key.choices.front();
  const std::map<std::string, std::string> examples = {
      {"model.d_model", "64"},    {"model.n_layer", "2"},        {"model.vocab_size", "257"},
      {"model.n_head", "2"},      {"data.train", "train.bin"},   {"schedule.total_steps", "100"},
      {"schedule.total_tokens", "3200"}, {"model.moe_experts", "4"}};
  return examples.at(key.path());
}

TEST(RecipeKeys, EveryDescribedKeyIsAccepted) {
  for (const RecipeKey& key : recipe_keys()) {
    for (const std::string& backbone : backbones_of(key)) {
      EXPECT_EQ(error_for(backbone, {assignment(key, valid_value(key, backbone))}), "")
          << key.path() << " under " << backbone;
    }
  }
}

TEST(RecipeKeys, UndescribedKeysAreUnknown) {
  EXPECT_TRUE(mentions(error_for("mamba", {"not_a_recipe_key=1"}), "unknown section 'not_a_recipe_key'"));
  for (const RecipeSection& section : recipe_sections()) {
    for (const std::string& backbone : backbone_names()) {
      EXPECT_TRUE(mentions(error_for(backbone, {section.name + ".not_a_recipe_key=1"}),
                           "unknown key '" + section.name + ".not_a_recipe_key'"));
    }
  }
  // A model key of some backbones only is unknown under the others.
  for (const RecipeKey& key : recipe_keys()) {
    for (const std::string& backbone : backbone_names()) {
      if (key.applies_to(backbone)) continue;
      EXPECT_TRUE(mentions(error_for(backbone, {assignment(key, valid_value(key, backbone))}),
                           "unknown key '" + key.path() + "'"))
          << "under " << backbone;
    }
  }
}

TEST(RecipeKeys, BackbonesAreTheRegistrys) {
  const std::vector<std::string> names = backbone_names();
  EXPECT_EQ(find_recipe_key("model", "backbone", "")->choices, names);
  for (const RecipeKey& key : recipe_keys()) {
    EXPECT_TRUE(key.backbones.empty() || key.section == "model") << key.path();
    for (const std::string& backbone : key.backbones) {
      EXPECT_NE(std::find(names.begin(), names.end(), backbone), names.end()) << key.path() << ": " << backbone;
    }
  }
}

std::optional<double> number(const std::string& text) {
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Equal YAML values, numbers compared as numbers (1e-05 is 0.00001).
bool same_value(const YAML::Node& a, const YAML::Node& b) {
  if (a.IsScalar() && b.IsScalar()) {
    const auto x = number(a.Scalar()), y = number(b.Scalar());
    return a.Scalar() == b.Scalar() || (x && y && *x == *y);
  }
  if (!a.IsSequence() || !b.IsSequence() || a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!same_value(a[i], b[i])) return false;
  }
  return true;
}

TEST(RecipeKeys, DefaultsAreWhatTheReaderFillsIn) {
  for (const std::string& backbone : backbone_names()) {
    std::vector<std::string> overrides = backbone_overrides(backbone);
    const YAML::Node lm = YAML::Load(to_yaml(parse_recipe(text_of(kMinimal), kName, overrides)));
    // num_classes and pool are written for classifiers only.
    overrides.insert(overrides.end(), {"task=classify", "data.format=hdf5"});
    const YAML::Node classify = YAML::Load(to_yaml(parse_recipe(text_of(kMinimal), kName, overrides)));
    for (const RecipeKey& key : recipe_keys()) {
      // model.backbone is the one key the recipes here set.
      if (key.default_value.empty() || !key.applies_to(backbone) || key.path() == "model.backbone") continue;
      const YAML::Node& resolved = key.section.empty() || lm[key.section][key.name] ? lm : classify;
      const YAML::Node written = key.section.empty() ? resolved[key.name] : resolved[key.section][key.name];
      ASSERT_TRUE(written) << key.path() << " is not in to_yaml's output";
      EXPECT_TRUE(same_value(written, YAML::Load(key.default_value)))
          << key.path() << " under " << backbone << ": described default " << key.default_value << ", read as "
          << YAML::Dump(written);
    }
  }
}

// Values just outside a range the validator words as "> N", ">= N" or "in [A, B]"; nullopt for a
// range in other words.
std::optional<std::vector<int>> outside(const RecipeKey& key) {
  int low = 0, high = 0;
  if (std::sscanf(key.range.c_str(), "in [%d, %d]", &low, &high) == 2) return std::vector<int>{low - 1, high + 1};
  if (key.range.rfind(">= ", 0) == 0) return std::vector<int>{std::stoi(key.range.substr(3)) - 1};
  if (key.range.rfind("> ", 0) == 0) {
    const int bound = std::stoi(key.range.substr(2));
    return std::vector<int>{key.type == KeyType::IntegerOrAuto && bound == 0 ? -1 : bound};  // 0 is auto
  }
  return std::nullopt;
}

TEST(RecipeKeys, RangesAreWhatTheValidatorChecks) {
  // Ranges the validator checks against other keys; their messages say more.
  const std::set<std::string> worded = {"model.num_classes", "data.copy_tokens", "optim.betas", "model.moe_top_k"};
  // Keys checked only where they apply.
  const std::map<std::string, std::string> context = {{"data.eval_examples", "data.format=synthetic"}};
  for (const RecipeKey& key : recipe_keys()) {
    if (key.range.empty()) continue;
    const auto values = outside(key);
    if (!values) {
      EXPECT_TRUE(worded.count(key.path()))
          << key.path() << ": range '" << key.range << "' is not > N, >= N or in [A, B]";
      continue;
    }
    for (const std::string& backbone : backbones_of(key)) {
      for (const int value : *values) {
        std::vector<std::string> overrides = {assignment(key, std::to_string(value))};
        if (context.count(key.path())) overrides.push_back(context.at(key.path()));
        EXPECT_TRUE(mentions(error_for(backbone, overrides), key.path() + " must be " + key.range))
            << key.path() << " = " << value << " under " << backbone;
      }
    }
  }
}

TEST(RecipeKeys, EachKeyIsDescribedOnce) {
  const std::vector<RecipeKey>& keys = recipe_keys();
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (keys[i].path() != keys[j].path()) continue;
      for (const std::string& backbone : backbone_names()) {
        EXPECT_FALSE(keys[i].applies_to(backbone) && keys[j].applies_to(backbone))
            << keys[i].path() << " is described twice for " << backbone;
      }
    }
  }
}

TEST(RecipeKeys, TextFitsInAMarkdownTable) {
  for (const RecipeKey& key : recipe_keys()) {
    for (const std::string& text : {key.name, key.default_value, key.range, key.meaning}) {
      EXPECT_EQ(text.find_first_of("|\n"), std::string::npos) << key.path() << ": " << text;
    }
    EXPECT_FALSE(key.meaning.empty()) << key.path();
    EXPECT_EQ(key.choices.empty(), key.type != KeyType::Choice && key.type != KeyType::Subset) << key.path();
  }
}

// A RecipeSectionReader over `text`, a data section.
struct DataSectionFixture {
  KeyLocations where{"x.yaml"};
  YAML::Node node;
  explicit DataSectionFixture(const std::string& text) : node(YAML::Load(text)) {}
  RecipeSectionReader reader() { return RecipeSectionReader(node, "data", where); }
};

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(RecipeSectionReader, RefusesKeysTypesAndChoicesTheTableLacks) {
  DataSectionFixture data("{seq_len: 8}");
  RecipeSectionReader in = data.reader();
  std::string text;
  EXPECT_TRUE(mentions(error_of([&] { in.read("undescribed", text); }),
                       "recipe key 'data.undescribed' is read but train/recipe_keys.cpp does not describe it"));
  double real = 0;
  EXPECT_TRUE(mentions(error_of([&] { in.read("seq_len", real); }),
                       "'data.seq_len' is read as number but train/recipe_keys.cpp describes it as integer"));
  DataFormat format{};
  const std::vector<std::pair<std::string, DataFormat>> fewer = {{"tokens", DataFormat::Tokens}};
  EXPECT_TRUE(mentions(error_of([&] { in.read_choice("format", format, fewer); }),
                       "'data.format' is read with the names tokens but train/recipe_keys.cpp gives tokens, hdf5"));
}

TEST(RecipeSectionReader, FinishWantsEveryDescribedKeyRead) {
  DataSectionFixture data("{seq_len: 8}");
  RecipeSectionReader in = data.reader();
  int64_t seq_len = 0;
  EXPECT_TRUE(in.read("seq_len", seq_len));
  EXPECT_EQ(seq_len, 8);
  EXPECT_TRUE(mentions(error_of([&] { in.finish(); }),
                       "recipe key 'data.train' is described in train/recipe_keys.cpp but the recipe reader does not "
                       "read it"));
}

TEST(RecipeSectionReader, ModelKeysOfABackboneOnceItIsChosen) {
  KeyLocations where("x.yaml");
  const YAML::Node node = YAML::Load("{d_state: 8}");
  RecipeSectionReader in(node, "model", where);
  int64_t value = 0;
  EXPECT_TRUE(mentions(error_of([&] { in.read("d_state", value); }), "'model.d_state' is read but"));
  in.choose_backbone("transformer");
  EXPECT_TRUE(mentions(error_of([&] { in.read("d_state", value); }), "(model.backbone transformer)"));
  in.choose_backbone("mamba");
  EXPECT_TRUE(in.read("d_state", value));
  EXPECT_EQ(value, 8);
}

}  // namespace
}  // namespace krait::train
