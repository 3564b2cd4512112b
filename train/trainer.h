// train/trainer.h — Trainer: recipe -> model + optimizer + data -> the training loop, with periodic
// evaluation, checkpoints (resumed bit-for-bit from the run directory), metrics and progress.
#pragma once

#include <iosfwd>
#include <memory>

#include "data/random_batcher.h"
#include "data/token_source.h"
#include "layers/mamba_lm.h"
#include "optim/adamw.h"
#include "optim/schedule.h"
#include "train/recipe.h"

namespace krait::train {

class MetricsLog;

struct TrainSummary {
  int64_t first_step = 0;  // > 0 when resumed
  int64_t last_step = 0;
  double final_train_loss = 0;
  double final_eval_loss = 0;  // NaN without a validation set
  int64_t nonfinite_skips = 0;
};

class Trainer {
 public:
  // Builds everything from the recipe; resumes from the newest checkpoint in recipe.train.run_dir.
  // Progress lines go to `progress`.
  Trainer(const Recipe& recipe, std::ostream& progress);
  ~Trainer();

  TrainSummary run();

 private:
  void resume_from(const std::string& checkpoint);
  void save_checkpoint();
  double train_step(double lr, double& grad_norm);
  void log_progress(double loss, double lr, double grad_norm, double elapsed, double tokens_per_s);
  void maybe_evaluate(bool force);

  Recipe recipe_;
  std::ostream& progress_;
  Device device_;
  MambaLM model_;
  AdamW optimizer_;
  LrSchedule schedule_;
  std::unique_ptr<data::TokenSource> train_source_, valid_source_;
  data::RandomBatcher batcher_;
  std::unique_ptr<MetricsLog> metrics_;
  int64_t step_ = 0;  // optimizer steps completed
  int64_t tokens_seen_ = 0;
  int64_t nonfinite_skips_ = 0;
  double last_eval_loss_;
};

}  // namespace krait::train
