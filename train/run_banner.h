// train/run_banner.h — what `krait train` prints around a run: the banner before the first step (model,
// device, data, batch, schedule, run directory and where it starts from) and the summary after the
// last one (steps, tokens, time, losses, the newest checkpoint and the commands to try next).
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "layers/model.h"
#include "train/data_pipeline.h"
#include "train/recipe.h"

namespace krait::train {

struct TrainSummary;

// Where a run starts: fresh (from train.init_from when set) or resumed from a checkpoint at a step.
struct RunStart {
  std::optional<std::string> resumed_from;
  int64_t step = 0;
  int64_t frozen_tensors = 0;  // by train.freeze
};

// The banner, one line per topic, for the resolved recipe on `world_size` ranks.
void print_banner(const Recipe& recipe, const Model& model, const DataPipeline& data, int world_size,
                  const RunStart& start, std::ostream& out);

// The end of a run that reached its last step: "done: step N, train loss ..., valid loss ...; run
// directory D" (the losses this process measured), then tokens and time, the newest checkpoint, and
// the next commands.
void print_run_end(const Recipe& recipe, const TrainSummary& summary, std::ostream& out);

}  // namespace krait::train
