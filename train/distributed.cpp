// train/distributed.cpp — join_distributed (see distributed.h).
#include "train/distributed.h"

#include "common/error.h"
#include "dist/nccl_communicator.h"
#include "dist/rendezvous.h"

namespace krait::train {

Distributed join_distributed(const dist::LaunchEnv& env, Recipe& recipe, bool force_nccl) {
  Distributed d{env, nullptr};
  if (env.world_size == 1 && !force_nccl) return d;
  KRAIT_CHECK(recipe.device().is_cuda(), "rank ", env.rank, " of ", env.world_size, " (", env.source,
              "): data-parallel training runs on GPUs; set train.device: cuda");
  recipe.train.device = "cuda:" + std::to_string(env.local_rank);
#if KRAIT_HAS_NCCL
  const auto timeout = std::chrono::seconds(recipe.train.dist_timeout_s);
  std::vector<uint8_t> id;
  if (env.rank == 0) id = dist::nccl_unique_id();
  id = dist::rendezvous_broadcast(env, std::move(id), timeout);
  d.comm = dist::make_nccl_communicator(env.rank, env.world_size, env.local_rank, id, timeout);
  return d;
#else
  KRAIT_FAIL("rank ", env.rank, " of ", env.world_size, " (", env.source, "): this krait was built without NCCL, so it "
             "cannot train on several GPUs (install NCCL where CMake finds it and rebuild)");
#endif
}

}  // namespace krait::train
