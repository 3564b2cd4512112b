// dist/single_rank_communicator.cpp — the world-size-1 communicator, and the argument checks every
// communicator shares (communicator.h).
#include <cstdint>
#include <memory>

#include "common/error.h"
#include "dist/communicator.h"

namespace krait::dist {
namespace detail {

void check_tensor(const char* what, const char* name, const Tensor& t) {
  KRAIT_CHECK(t.defined(), what, ": ", name, " is an undefined tensor");
  const DType d = t.dtype();
  if (t.device().is_cuda()) {
    KRAIT_CHECK(d == DType::F32 || d == DType::BF16, what, ": ", name, " is ", t.describe(),
                "; collectives on CUDA take f32 or bf16");
  } else {
    KRAIT_CHECK(d == DType::F32 || d == DType::F64, what, ": ", name, " is ", t.describe(),
                "; collectives on the CPU take f32 or f64");
  }
}

void check_shard_full(const char* what, const Tensor& shard, const Tensor& full, int rank, int world_size) {
  check_tensor(what, "shard", shard);
  check_tensor(what, "full", full);
  KRAIT_CHECK(shard.device() == full.device() && shard.dtype() == full.dtype(), what, ": shard ", shard.describe(),
              " and full ", full.describe(), " differ in device or dtype");
  KRAIT_CHECK(full.numel() == static_cast<int64_t>(world_size) * shard.numel(), what, ": full ", full.describe(),
              " must hold world_size (", world_size, ") x shard ", shard.describe(), " = ",
              static_cast<int64_t>(world_size) * shard.numel(), " elements, not ", full.numel());
  // Memory: disjoint, or the shard is exactly this rank's slot of full (the in-place layout).
  const auto* s = static_cast<const uint8_t*>(shard.raw_data());
  const auto* f = static_cast<const uint8_t*>(full.raw_data());
  const size_t sb = shard.nbytes(), fb = full.nbytes();
  const bool disjoint = sb == 0 || fb == 0 || s + sb <= f || f + fb <= s;
  const bool in_place = s == f + static_cast<size_t>(rank) * sb;
  KRAIT_CHECK(disjoint || in_place, what, ": shard ", shard.describe(), " overlaps full ", full.describe(),
              " other than as rank ", rank, "'s slot of it");
}

void check_root(const char* what, int root, int world_size) {
  KRAIT_CHECK(root >= 0 && root < world_size, what, ": root ", root, " is not a rank (world size ", world_size, ")");
}

void check_all_to_all(const char* what, const Tensor& send, const Tensor& recv, int world_size) {
  check_tensor(what, "send", send);
  check_tensor(what, "recv", recv);
  KRAIT_CHECK(send.device() == recv.device() && send.dtype() == recv.dtype() && send.numel() == recv.numel(), what,
              ": send ", send.describe(), " and recv ", recv.describe(), " differ in device, dtype or size");
  KRAIT_CHECK(send.numel() % world_size == 0, what, ": send ", send.describe(), " does not split into world_size (",
              world_size, ") equal chunks");
  const auto* a = static_cast<const uint8_t*>(send.raw_data());
  const auto* b = static_cast<const uint8_t*>(recv.raw_data());
  KRAIT_CHECK(send.nbytes() == 0 || a + send.nbytes() <= b || b + recv.nbytes() <= a, what, ": send ",
              send.describe(), " and recv ", recv.describe(), " overlap");
}

}  // namespace detail

namespace {

class SingleRankCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }

  void all_reduce_sum(const Tensor& data) override { detail::check_tensor("all_reduce_sum", "data", data); }

  void reduce_scatter_sum(const Tensor& full, const Tensor& shard) override {
    detail::check_shard_full("reduce_scatter_sum", shard, full, 0, 1);
    if (shard.raw_data() != full.raw_data()) shard.copy_from(full.view(shard.shape()));
  }

  void all_gather(const Tensor& shard, const Tensor& full) override {
    detail::check_shard_full("all_gather", shard, full, 0, 1);
    if (shard.raw_data() != full.raw_data()) full.view(shard.shape()).copy_from(shard);
  }

  void broadcast(const Tensor& data, int root) override {
    detail::check_tensor("broadcast", "data", data);
    detail::check_root("broadcast", root, 1);
  }

  void all_to_all(const Tensor& send, const Tensor& recv) override {
    detail::check_all_to_all("all_to_all", send, recv, 1);
    recv.view(send.shape()).copy_from(send);
  }

  void wait() override {}
};

}  // namespace

std::unique_ptr<Communicator> make_single_rank_communicator() {
  return std::make_unique<SingleRankCommunicator>();
}

}  // namespace krait::dist
