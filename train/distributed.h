// train/distributed.h — joining a data-parallel job: the launch environment (torchrun, Slurm or Open
// MPI variables, dist/launch_env.h), the rendezvous that hands rank 0's NCCL id to the others, and
// the NCCL communicator on this rank's GPU (cuda:LOCAL_RANK).
#pragma once

#include <memory>

#include "dist/communicator.h"
#include "dist/launch_env.h"
#include "train/recipe.h"

namespace krait::train {

struct Distributed {
  dist::LaunchEnv env;
  std::unique_ptr<dist::Communicator> comm;  // null for a single-rank run without NCCL
};

// For a world of one (and force_nccl false) nothing is joined and the recipe is left as it is. Else
// the recipe must train on CUDA (train.device is set to cuda:LOCAL_RANK), the build must have NCCL,
// and every rank must arrive within train.dist_timeout_s; errors name the rank and the cause.
// force_nccl runs a world of one through NCCL too (to check that path against the plain one).
Distributed join_distributed(const dist::LaunchEnv& env, Recipe& recipe, bool force_nccl);

}  // namespace krait::train
