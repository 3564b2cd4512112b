// train/trainer.h — Trainer: recipe -> model + optimizer + data -> the training loop, with periodic
// evaluation, checkpoints (resumed bit-for-bit from the run directory), metrics and progress. It
// sees the network only through the Model interface, so every backbone and head trains the same way.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "dist/communicator.h"
#include "layers/expert_exchange.h"
#include "layers/model.h"
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "train/data_pipeline.h"
#include "train/recipe.h"
#include "train/recipe_change.h"

namespace krait::train {

class GradSync;
class MetricsLog;
class RunDirLock;
class ShardedAdamW;

struct TrainSummary {
  int64_t first_step = 0;  // > 0 when resumed
  int64_t last_step = 0;
  double final_train_loss = 0;
  double final_eval_loss = 0;      // NaN without a validation set
  double final_eval_accuracy = 0;  // NaN unless a classifier was evaluated
  int64_t nonfinite_skips = 0;
  double wall_s = 0;               // this process's training time
  int stop_signal = 0;  // the signal (stop_signal.h) that stopped the run before its last step, or 0
};

class Trainer {
 public:
  // Builds everything from the recipe; resumes from the newest readable checkpoint in
  // recipe.train.run_dir (skipping, with a line saying why, newer ones that cannot be read), or else
  // starts from train.init_from when set. Rank 0 holds the run directory's lock (run_lock.h) for the
  // trainer's life. Problems that would surface late are checked first: an unwritable checkpoint
  // folder, a validation set without one window. The banner (run_banner.h) and progress lines go to `progress`. At the last step
  // rank 0 writes RUN_DIR/summary.json (train/run_summary.h). With a
  // communicator of several ranks (the caller keeps it alive), this rank trains on its rows of every global micro-batch, the
  // gradients are averaged over the ranks (grad_sync.h), evaluations are summed over them, and only
  // rank 0 writes metrics, the resolved recipe and checkpoints.
  // Without a communicator the run is single-rank.
  // A resume whose recipe differs from the checkpoint's is refused, or with AllowResumable accepted
  // when recipe_change.h's rule allows each change, and recorded in RUN_DIR/recipe-history/.
  Trainer(const Recipe& recipe, std::ostream& progress, dist::Communicator* comm = nullptr,
          RecipeChangePolicy changes = RecipeChangePolicy::Refuse);
  ~Trainer();

  // Trains to the last step, or until a stop is requested (stop_signal.h): then the current step is
  // finished, a checkpoint written and the summary's stop_signal set. With several ranks they agree
  // on the step to stop at (the flag is summed over them after every step).
  TrainSummary run();
  const Model& model() const { return *model_; }

 private:
  std::optional<std::string> resume_from_newest_readable(RecipeChangePolicy changes);  // the one resumed from
  void resume_from(const std::string& checkpoint);
  void record_recipe_changes(const std::string& trained_with, const std::vector<RecipeChange>& changed);
  void check_valid_set();
  int agreed_stop_signal();
  void start_from_pretrained();
  void save_checkpoint();
  double train_step(double lr, double& grad_norm);
  void log_progress(double loss, double lr, double grad_norm, double elapsed, double tokens_per_s);
  void maybe_evaluate(bool force);

  bool writes() const { return comm_.rank() == 0; }

  std::unique_ptr<RunDirLock> lock_;  // rank 0's
  std::unique_ptr<dist::Communicator> own_comm_;  // the single-rank one, when none is given
  dist::Communicator& comm_;
  Recipe recipe_;  // with model.num_classes resolved from the data
  std::ostream& progress_;
  Device device_;
  std::unique_ptr<DataPipeline> data_;
  std::unique_ptr<Model> model_;
  ParameterList trainable_;  // the model's parameters less the frozen ones
  std::unique_ptr<AdamW> optimizer_;          // without ZeRO-1
  std::unique_ptr<GradSync> grad_sync_;       // with a communicator, without ZeRO-1
  std::unique_ptr<ShardedAdamW> sharded_;     // train.zero1
  // model.moe_expert_parallel on more than one rank: the MoE layers' token exchange. The experts'
  // weights are then rank_shard parameters (train/rank_shards.h).
  std::shared_ptr<ExpertExchange> exchange_;
  LrSchedule schedule_;
  std::unique_ptr<MetricsLog> metrics_;
  int64_t step_ = 0;  // optimizer steps completed
  int64_t tokens_seen_ = 0;
  int64_t nonfinite_skips_ = 0;
  double last_eval_loss_, last_eval_accuracy_;
};

// The recipe's model with num_classes taken from the data when the recipe leaves it 0; throws when
// the data's vocabulary or classes do not fit the model.
ModelSpec resolve_model(const Recipe& recipe, const DataPipeline& data);

}  // namespace krait::train
