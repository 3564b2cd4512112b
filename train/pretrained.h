// train/pretrained.h — starting a run from another run's weights: init_from_checkpoint loads the
// parameters whose names and shapes a checkpoint shares with the model (a pretrained backbone under a
// new head) and reports what was loaded, kept new and ignored; freeze_parameters takes the
// parameters matching name patterns out of training.
#pragma once

#include <string>
#include <vector>

#include "autograd/parameter.h"

namespace krait::train {

struct InitReport {
  std::string checkpoint;            // the file read
  std::vector<std::string> loaded;   // in the model and the checkpoint
  std::vector<std::string> fresh;    // in the model only: they keep their initialization
  std::vector<std::string> ignored;  // in the checkpoint only (e.g. an untied LM head)
};

// `path` is a checkpoint file or a run folder (its newest checkpoint). A parameter in both with
// different shapes is an error naming it and both shapes (a different model size); so is a model
// that shares no parameter with the checkpoint.
InitReport init_from_checkpoint(const ParameterList& params, const std::string& path);

// '*' matches any run of characters (dots included); everything else matches itself.
bool name_matches(const std::string& pattern, const std::string& name);

// Marks the parameters matching any pattern as not requiring grad and returns the others (the ones
// to train), appending the frozen names to `frozen`. A pattern that matches nothing is an error
// listing a few parameter names.
ParameterList freeze_parameters(const ParameterList& params, const std::vector<std::string>& patterns,
                                std::vector<std::string>& frozen);

}  // namespace krait::train
