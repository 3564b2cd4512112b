// train/recipe_change.h — resuming with a changed recipe: the key-by-key differences between the
// recipe a checkpoint was trained with and the one a run resumes with, the rule for which a resume
// accepts, and the run directory's record of accepted changes (RUN_DIR/recipe-history/).
//
// The rule: a change to how long the run lasts, how often it logs, evaluates and checkpoints, how
// many checkpoints it keeps, the learning-rate schedule's values (optim.lr, schedule.*), the eval
// section, or how patiently it runs (train.dist_timeout_s, on_nonfinite, max_nonfinite_skips,
// init_from) is accepted only with `krait train --allow-recipe-change`, and
// recorded. Any other change (task, model.*, data.*, the other optim keys, train.seed, micro_batch,
// grad_accum, precision, freeze) would change what the saved state means or which batches
// come next, so it is refused even with the flag. train.run_dir, train.device, train.zero1 and
// train.recompute are not compared (a data-parallel rank's device is set per rank; a checkpoint holds
// the whole optimizer state; recomputation changes memory and time, not a number).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/recipe.h"

namespace krait::train {

enum class RecipeChangePolicy { Refuse, AllowResumable };

struct RecipeChange {
  std::string key;     // "optim.lr"
  std::string before;  // the checkpoint's value, "(unset)" when it has no such key
  std::string after;   // the resumed recipe's value, "(unset)" likewise
  bool operator==(const RecipeChange&) const = default;
};

// The keys whose values differ between two recipes as written by to_yaml, in key order, without
// train.run_dir, train.device, train.zero1 and train.recompute.
std::vector<RecipeChange> recipe_changes(const std::string& before_yaml, const std::string& after_yaml);

// Whether the rule above lets a resume change `key` (with --allow-recipe-change).
bool resumable_change(const std::string& key);

// "optim.lr: 0.01 -> 0.02, schedule.total_steps: 30 -> 50"
std::string describe(const std::vector<RecipeChange>& changes);

// Checks that `recipe`, resumed from `checkpoint` (at `step`, trained with checkpoint_recipe, the
// text the checkpoint stores) may go on: its run length is not below the step, and its changes are
// none, or all resumable and allowed by the policy. Throws krait::Error naming the checkpoint, the
// keys and their old and new values. Returns the changes (empty when the recipe is the same).
std::vector<RecipeChange> check_resumed_recipe(const Recipe& recipe, const std::string& checkpoint_recipe,
                                               const std::string& checkpoint, int64_t step, int world_size,
                                               RecipeChangePolicy policy);

// Records accepted changes: checkpoint_recipe (the recipe used up to `step`) goes to
// RUN_DIR/recipe-history/recipe-step-<step, 8 digits>.yaml and a line naming the step, that file and
// the changes is appended to RUN_DIR/recipe-history/changes.log. Returns the history file's path.
std::string record_recipe_change(const std::string& run_dir, int64_t step, const std::string& checkpoint_recipe,
                                 const std::vector<RecipeChange>& changes);

// The comment recipe.yaml opens with once the run's recipe was changed (naming the history files),
// or "" when it never was.
std::string recipe_history_note(const std::string& run_dir);

}  // namespace krait::train
