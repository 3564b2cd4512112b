// Expert parallelism on in-process ranks (FakeGroup), and on two GPUs over NCCL where there are: a SwitchMoE
// layer whose experts are sharded over 2 and 4 ranks gives each rank the unsharded layer's output
// and aux loss on that rank's tokens, and each shard's gradient equals the slice of the unsharded
// layer's gradient summed over the ranks (what data parallelism's all-reduce makes), as do the
// input's and the router's; float64, top-1 and top-2, with dropped tokens.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <mutex>

#include "autograd/ops.h"
#include "layers/switch_moe.h"
#include "tests/dist/fake_communicator.h"
#include "tests/support/error_text.h"
#include "tests/support/gradcheck.h"
#include "train/communicator_exchange.h"
#if KRAIT_HAS_NCCL
#include <thread>

#include "autograd/device.h"
#include "dist/nccl_communicator.h"
#endif

namespace krait::train {
namespace {

struct RankResult {
  std::vector<double> y, aux, grad_x, grad_router, grad_w1, grad_w2;
};

MoeConfig config(int64_t top_k) {
  MoeConfig c;
  c.experts = 4;
  c.top_k = top_k;
  c.hidden = 6;
  c.expert_parallel = true;
  return c;
}

// Rank r's tokens: (2, 5, d) drawn from seed 100 + r, in the layer's dtype and on its device.
Tensor tokens(int rank, const Tensor& like) {
  Rng rng(100 + uint64_t(rank));
  return testing::random_tensor({2, 5, like.size(1)}, rng, -1, 1, like.dtype()).to(like.device()).set_requires_grad(true);
}

// One forward and backward of the layer on rank `rank`'s tokens, the loss sum(y^2) + aux.
RankResult run(const SwitchMoE& moe, int rank) {
  const Tensor x = tokens(rank, moe.w1.value);
  const SwitchMoEOutput out = moe.forward(x);
  backward(ops::add(ops::sum(ops::mul(out.y, out.y)), out.aux_loss));
  return {out.y.to_doubles(),           {out.aux_loss.item()},          x.grad().to_doubles(),
          moe.router.value.grad().to_doubles(), moe.w1.value.grad().to_doubles(), moe.w2.value.grad().to_doubles()};
}

void expect_near(const std::vector<double>& a, const std::vector<double>& b, const char* what, double tol = 1e-12) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol * (1 + std::abs(b[i]))) << what << " at " << i;
}

// The unsharded layer's results on each rank's tokens, and each weight gradient summed over the ranks
// (what data parallelism's all-reduce makes of them).
struct Reference {
  std::vector<RankResult> ranks;
  std::vector<double> w1_sum, w2_sum;
};
Reference unsharded(const SwitchMoE& whole, int ranks) {
  Reference ref;
  for (int r = 0; r < ranks; ++r) {
    for (const Parameter* p : {&whole.router, &whole.w1, &whole.w2}) p->value.zero_grad();
    ref.ranks.push_back(run(whole, r));
    const RankResult& got = ref.ranks.back();
    ref.w1_sum.resize(got.grad_w1.size(), 0.0), ref.w2_sum.resize(got.grad_w2.size(), 0.0);
    for (size_t i = 0; i < got.grad_w1.size(); ++i) ref.w1_sum[i] += got.grad_w1[i];
    for (size_t i = 0; i < got.grad_w2.size(); ++i) ref.w2_sum[i] += got.grad_w2[i];
  }
  return ref;
}

// Rank r of the sharded layer against the reference: outputs, the aux loss, the input's and router's
// gradients (before any all-reduce), and its shards of the summed expert gradients.
void expect_matches(const RankResult& got, const Reference& ref, int r, int ranks, double tol) {
  SCOPED_TRACE("rank " + std::to_string(r));
  const RankResult& want = ref.ranks[size_t(r)];
  expect_near(got.y, want.y, "output", tol);
  expect_near(got.aux, want.aux, "aux loss", tol);
  expect_near(got.grad_x, want.grad_x, "input gradient", tol);
  expect_near(got.grad_router, want.grad_router, "router gradient", tol);
  const size_t w1 = ref.w1_sum.size() / size_t(ranks), w2 = ref.w2_sum.size() / size_t(ranks);
  expect_near(got.grad_w1, {ref.w1_sum.begin() + r * w1, ref.w1_sum.begin() + (r + 1) * w1}, "w1 shard", tol);
  expect_near(got.grad_w2, {ref.w2_sum.begin() + r * w2, ref.w2_sum.begin() + (r + 1) * w2}, "w2 shard", tol);
}

TEST(ExpertParallel, ShardedLayerMatchesTheUnshardedOne) {
  for (int ranks : {2, 4}) {
    for (int64_t top_k : {1, 2}) {
      SCOPED_TRACE(std::to_string(ranks) + " ranks, top_k " + std::to_string(top_k));
      Rng rng(7);
      const SwitchMoE whole("moe", 3, config(top_k), 1.0, {DType::F64}, rng);
      const Reference ref = unsharded(whole, ranks);
      std::vector<RankResult> sharded(ranks);
      std::mutex mutex;
      dist::testing::FakeGroup::run(ranks, [&](dist::Communicator& comm) {
        Rng same(7);
        const SwitchMoE moe("moe", 3, config(top_k), 1.0, {DType::F64}, same, std::make_shared<CommunicatorExchange>(comm));
        EXPECT_TRUE(moe.w1.tags.rank_shard);
        EXPECT_EQ(moe.w1.value.size(0), 4 / ranks);
        RankResult result = run(moe, comm.rank());
        std::lock_guard<std::mutex> lock(mutex);
        sharded[comm.rank()] = std::move(result);
      });
      for (int r = 0; r < ranks; ++r) expect_matches(sharded[r], ref, r, ranks, 1e-12);
    }
  }
}

#if KRAIT_HAS_NCCL
// The same on two GPUs, ranks as threads each with its own card and NCCL, f32: to rounding.
TEST(ExpertParallel, TwoGpusOverNcclMatchTheUnshardedLayer) {
  if (cuda_device_count() < 2) GTEST_SKIP() << "fewer than two CUDA devices";
  for (int64_t top_k : {1, 2}) {
    SCOPED_TRACE("top_k " + std::to_string(top_k));
    Rng rng(7);
    const SwitchMoE whole("moe", 3, config(top_k), 1.0, {DType::F32, Device::cuda(0)}, rng);
    const Reference ref = unsharded(whole, 2);
    const std::vector<uint8_t> id = dist::nccl_unique_id();
    std::vector<RankResult> sharded(2);
    std::exception_ptr failure[2];
    std::vector<std::thread> threads;
    for (int rank = 0; rank < 2; ++rank)
      threads.emplace_back([&, rank] {
        try {
          auto comm = dist::make_nccl_communicator(rank, 2, rank, id, std::chrono::seconds(120));
          Rng same(7);
          const SwitchMoE moe("moe", 3, config(top_k), 1.0, {DType::F32, Device::cuda(rank)}, same,
                              std::make_shared<CommunicatorExchange>(*comm));
          sharded[size_t(rank)] = run(moe, rank);
        } catch (...) {
          failure[rank] = std::current_exception();
        }
      });
    for (std::thread& t : threads) t.join();
    for (const std::exception_ptr& f : failure)
      if (f) std::rethrow_exception(f);
    for (int r = 0; r < 2; ++r) expect_matches(sharded[size_t(r)], ref, r, 2, 1e-5);
  }
}
#endif

TEST(ExpertParallel, ExpertsMustDivideAmongTheRanks) {
  dist::testing::FakeGroup::run(3, [](dist::Communicator& comm) {
    Rng rng(1);
    testing::expect_error(
        [&] { SwitchMoE("moe", 3, config(1), 1.0, {DType::F64}, rng, std::make_shared<CommunicatorExchange>(comm)); },
        {"model.moe_experts (4)", "multiple of the 3"});
  });
}

}  // namespace
}  // namespace krait::train
