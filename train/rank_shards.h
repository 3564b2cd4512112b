// train/rank_shards.h — a data-parallel run's parameters that each rank holds only a slice of
// (ParamTags::rank_shard: expert-parallel MoE experts, rows of axis 0 by rank): which they are, the
// gradient norm over every rank's slices, and their whole tensors for checkpoints (gathered) and back
// (sliced).
#pragma once

#include "autograd/parameter.h"
#include "dist/communicator.h"

namespace krait::train {

// params less (or only) the rank_shard ones.
ParameterList replicated_parameters(const ParameterList& params);
ParameterList rank_shard_parameters(const ParameterList& params);

// The global L2 norm of the gradients, the shards' squares summed over the ranks (a collective);
// replicated gradients are already the same on every rank.
double grad_norm_over_ranks(const ParameterList& params, dist::Communicator& comm);

// The whole tensor of a rank's slice: every rank's rows in rank order (a collective), on the slice's
// device.
Tensor gather_rows(const Tensor& slice, dist::Communicator& comm);
// This rank's rows of a whole tensor (its axis 0 split evenly over the ranks); a copy.
Tensor rank_rows(const Tensor& whole, int rank, int ranks);

}  // namespace krait::train
