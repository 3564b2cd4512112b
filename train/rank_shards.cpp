// train/rank_shards.cpp — rank-sharded parameters (see rank_shards.h).
#include "train/rank_shards.h"

#include <cmath>

#include "autograd/ops.h"
#include "autograd/tape.h"
#include "common/error.h"
#include "optim/clip.h"

namespace krait::train {

ParameterList replicated_parameters(const ParameterList& params) {
  ParameterList out;
  for (const Parameter& p : params)
    if (!p.tags.rank_shard) out.push_back(p);
  return out;
}

ParameterList rank_shard_parameters(const ParameterList& params) {
  ParameterList out;
  for (const Parameter& p : params)
    if (p.tags.rank_shard) out.push_back(p);
  return out;
}

double grad_norm_over_ranks(const ParameterList& params, dist::Communicator& comm) {
  const double replicated = global_grad_norm(replicated_parameters(params));
  const double shards = global_grad_norm(rank_shard_parameters(params));
  // The collectives take f32 on CUDA: ample for a norm that only decides the clipping.
  const Device device = params.empty() ? Device::cpu() : params.front().value.device();
  const Tensor squares = Tensor::full({1}, shards * shards, device.is_cpu() ? DType::F64 : DType::F32, device);
  comm.all_reduce_sum(squares);
  comm.wait();
  return std::sqrt(replicated * replicated + squares.item());
}

Tensor gather_rows(const Tensor& slice, dist::Communicator& comm) {
  Shape shape = slice.shape();
  KRAIT_CHECK(!shape.empty(), "gather_rows: ", slice.describe(), " has no rows");
  shape[0] *= comm.world_size();
  const Tensor whole = Tensor::empty(shape, slice.dtype(), slice.device());
  comm.all_gather(slice, whole);
  comm.wait();
  return whole;
}

Tensor rank_rows(const Tensor& whole, int rank, int ranks) {
  KRAIT_CHECK(whole.dim() >= 1 && whole.size(0) % ranks == 0, "rank_rows: ", whole.describe(),
              " does not split into ", ranks, " equal parts along its first axis");
  NoGradGuard no_grad;
  const int64_t rows = whole.size(0) / ranks;
  return ops::slice(whole, 0, rank * rows, (rank + 1) * rows);
}

}  // namespace krait::train
