// train/run_summary.h — RunSummary, the machine-readable end of a `krait train` run: rank 0 writes it
// to RUN_DIR/summary.json (atomically) when the run reaches its last step, and sweeps and reports read
// it back with read_run_summary instead of parsing logs. One flat JSON object:
//
//   {"version": 1, "status": "finished", "backbone": "mamba", "task": "lm", "d_model": 768,
//    "n_layer": 24, "params_total": 129135360, "params_non_embedding": 90520320, "seq_len": 2048,
//    "batch_size": 256, "steps": 4769, "tokens": 2500329472, "final_train_loss": 2.91,
//    "final_eval_loss": 2.87, "final_eval_accuracy": null, "train_flops": 1.937e+18,
//    "flops_formula": "tokens * 6*params_total", "wall_s": 5321.4, "lr": 0.003,
//    "recipe": "recipe.yaml"}
//
// Parameters and FLOPs follow train/flops.h: params_non_embedding = params_total minus the input
// embedding matrix; train_flops = tokens x flops_per_token (6 x params_total, plus attention's
// 12 x n_layer x d_model x seq_len for a Transformer). batch_size is the global batch in sequences,
// tokens = steps x batch_size x seq_len, lr the peak learning rate, wall_s the training time of the
// process that finished the run (a resumed run counts only its last stretch), recipe the resolved
// recipe's file in the run directory. A loss or accuracy not measured (no validation set; accuracy
// outside classifiers and synthetic tasks) is null, NaN in the struct.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "layers/model.h"
#include "train/recipe.h"

namespace krait::train {

struct TrainSummary;

inline constexpr const char* kRunSummaryFile = "summary.json";
inline constexpr int64_t kRunSummaryVersion = 1;

struct RunSummary {
  int64_t version = kRunSummaryVersion;
  std::string status = "finished";
  std::string backbone, task;
  int64_t d_model = 0, n_layer = 0;
  int64_t params_total = 0, params_non_embedding = 0;
  int64_t seq_len = 0, batch_size = 0, steps = 0, tokens = 0;
  double final_train_loss = 0, final_eval_loss = 0, final_eval_accuracy = 0;  // NaN: null
  double train_flops = 0;
  std::string flops_formula;
  double wall_s = 0;
  double lr = 0;
  std::string recipe = "recipe.yaml";
};

// The summary of a run of the resolved recipe that trained model and ended as train says.
RunSummary make_run_summary(const Recipe& recipe, const Model& model, const TrainSummary& train);

// The JSON text, one key per line, in the order above.
std::string to_json(const RunSummary& summary);

// Writes to_json(summary) to path through a temporary file and a rename.
void write_run_summary(const RunSummary& summary, const std::filesystem::path& path);

// Reads a summary strictly: every key above, of its type, no other key, version 1. Throws
// krait::Error naming the file, line and key.
RunSummary read_run_summary(const std::filesystem::path& path);

}  // namespace krait::train
