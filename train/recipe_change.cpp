// train/recipe_change.cpp — comparing a resumed recipe with its checkpoint's, and the recipe history
// (see recipe_change.h).
#include "train/recipe_change.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string_view>

#include "common/error.h"

namespace krait::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUnset = "(unset)";
constexpr const char* kHistoryDir = "recipe-history";
constexpr const char* kHistoryLog = "changes.log";
constexpr const char* kHistoryPrefix = "recipe-step-";

constexpr std::array<std::string_view, 16> kResumable = {
    "optim.lr",           "schedule.warmup_steps",    "schedule.total_steps",    "schedule.total_tokens",
    "schedule.min_lr",    "schedule.decay",           "train.eval_interval",     "train.checkpoint_interval",
    "train.log_interval", "train.keep_checkpoints",   "train.dist_timeout_s",
    "train.on_nonfinite", "train.max_nonfinite_skips", "train.init_from",        "eval.max_batches",
    "eval.batch_size"};

// A scalar as written, '' for an empty one; a list as [a, b].
std::string value_text(const YAML::Node& node) {
  if (node.IsSequence()) {
    std::string out = "[";
    for (size_t i = 0; i < node.size(); ++i) out += (i ? ", " : "") + value_text(node[i]);
    return out + "]";
  }
  const std::string scalar = node.IsScalar() ? node.Scalar() : "";
  return scalar.empty() ? "''" : scalar;
}

// Every leaf of the document as "section.key" -> value.
void flatten(const YAML::Node& node, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (!node.IsMap()) {
    out[prefix] = value_text(node);
    return;
  }
  for (const auto& item : node) flatten(item.second, (prefix.empty() ? "" : prefix + ".") + item.first.Scalar(), out);
}

std::map<std::string, std::string> flat(const std::string& yaml) {
  std::map<std::string, std::string> out;
  flatten(YAML::Load(yaml), "", out);
  // Where the run's files are, which device this process uses (set per rank in a data-parallel run),
  // how gradients are bucketed, whether the ranks shard the optimizer state or the MoE experts (a checkpoint holds all of them)
  // and whether layers are recomputed in the backward (the same numbers) are not part of what a resume
  // must keep.
  out.erase("train.run_dir");
  out.erase("train.device");
  out.erase("train.zero1");
  out.erase("train.bucket_mb");
  out.erase("model.moe_expert_parallel");
  out.erase("train.recompute");
  return out;
}

std::string history_name(int64_t step) {
  char name[40];
  std::snprintf(name, sizeof name, "%s%08lld.yaml", kHistoryPrefix, static_cast<long long>(step));
  return name;
}

// Writes text to path through a temporary file, so a reader never sees half of it.
void write_text(const fs::path& path, const std::string& text) {
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    KRAIT_CHECK(out.flush(), "cannot write '", temporary.string(), "'");
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  KRAIT_CHECK(!ec, "cannot rename '", temporary.string(), "' to '", path.string(), "': ", ec.message());
}

}  // namespace

std::vector<RecipeChange> recipe_changes(const std::string& before_yaml, const std::string& after_yaml) {
  const auto before = flat(before_yaml), after = flat(after_yaml);
  std::map<std::string, RecipeChange> changes;
  for (const auto& [key, value] : before) {
    const auto it = after.find(key);
    const std::string now = it == after.end() ? kUnset : it->second;
    if (now != value) changes[key] = {key, value, now};
  }
  for (const auto& [key, value] : after) {
    if (!before.contains(key)) changes[key] = {key, kUnset, value};
  }
  std::vector<RecipeChange> out;
  for (auto& [key, change] : changes) out.push_back(std::move(change));
  return out;
}

bool resumable_change(const std::string& key) {
  return std::find(kResumable.begin(), kResumable.end(), key) != kResumable.end();
}

std::string describe(const std::vector<RecipeChange>& changes) {
  std::string out;
  for (const RecipeChange& c : changes) out += (out.empty() ? "" : ", ") + c.key + ": " + c.before + " -> " + c.after;
  return out;
}

std::vector<RecipeChange> check_resumed_recipe(const Recipe& recipe, const std::string& checkpoint_recipe,
                                               const std::string& checkpoint, int64_t step, int world_size,
                                               RecipeChangePolicy policy) {
  const int64_t total = recipe.total_steps();
  KRAIT_CHECK(total >= step, recipe.schedule.total_steps ? "schedule.total_steps = " : "schedule.total_tokens = ",
              recipe.schedule.total_steps ? *recipe.schedule.total_steps : *recipe.schedule.total_tokens,
              recipe.schedule.total_steps ? "" : " (" + std::to_string(total) + " steps)", " is below step ", step,
              " of checkpoint '", checkpoint, "', which the run resumes from; give at least ", step, " steps");
  const Recipe before = parse_recipe(checkpoint_recipe, checkpoint + ":/recipe", {}, world_size);
  const std::vector<RecipeChange> changes = recipe_changes(to_yaml(before), to_yaml(recipe));
  std::vector<RecipeChange> refused;
  for (const RecipeChange& c : changes)
    if (!resumable_change(c.key)) refused.push_back(c);
  const std::string what = "resuming from checkpoint '" + checkpoint + "' (step " + std::to_string(step) +
                           ") with a recipe that differs from the one it was trained with: ";
  KRAIT_CHECK(refused.empty(), what, describe(changes), ". These cannot change in a resumed run, even with "
              "--allow-recipe-change (the model, data, seeds or batch order would no longer be those of the "
              "earlier steps): ", describe(refused), ". Undo them, or start a new train.run_dir");
  KRAIT_CHECK(changes.empty() || policy == RecipeChangePolicy::AllowResumable, what, describe(changes),
              ". Undo them, or run krait train --allow-recipe-change to continue with the new values (the "
              "recipe used so far is then kept in the run directory's ", kHistoryDir, "/)");
  return changes;
}

std::string record_recipe_change(const std::string& run_dir, int64_t step, const std::string& checkpoint_recipe,
                                 const std::vector<RecipeChange>& changes) {
  const fs::path dir = fs::path(run_dir) / kHistoryDir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  KRAIT_CHECK(!ec, "cannot create the recipe history folder '", dir.string(), "': ", ec.message());
  const fs::path file = dir / history_name(step);
  write_text(file, "# The recipe this run used up to step " + std::to_string(step) + ".\n" + checkpoint_recipe);
  std::ofstream log(dir / kHistoryLog, std::ios::app);
  log << "step " << step << ": " << describe(changes) << " (the recipe before: " << kHistoryDir << "/"
      << file.filename().string() << ")\n";
  KRAIT_CHECK(log.flush(), "cannot append to '", (dir / kHistoryLog).string(), "'");
  return file.string();
}

std::string recipe_history_note(const std::string& run_dir) {
  const fs::path dir = fs::path(run_dir) / kHistoryDir;
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(kHistoryPrefix) && name.ends_with(".yaml")) names.push_back(name);
  }
  if (names.empty()) return "";
  std::sort(names.begin(), names.end());
  std::string note = "# Changed on resume (krait train --allow-recipe-change); the earlier recipes:";
  for (const std::string& name : names) note += std::string(" ") + kHistoryDir + "/" + name;
  return note + " (each used up to the step it names); the changes: " + kHistoryDir + "/" + kHistoryLog + "\n";
}

}  // namespace krait::train
