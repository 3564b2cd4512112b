// Expert parallelism on in-process ranks (FakeGroup): the all-to-all's chunk layout; a SwitchMoE
// layer whose experts are sharded over 2 and 4 ranks gives each rank the unsharded layer's output
// and aux loss on that rank's tokens, and each shard's gradient equals the slice of the unsharded
// layer's gradient summed over the ranks (what data parallelism's all-reduce makes), as do the
// input's and the router's; float64, top-1 and top-2, with dropped tokens.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>

#include "autograd/ops.h"
#include "layers/switch_moe.h"
#include "tests/dist/fake_communicator.h"
#include "tests/support/error_text.h"
#include "tests/support/gradcheck.h"
#include "train/communicator_exchange.h"

namespace krait::train {
namespace {

TEST(AllToAll, ChunkRGoesToRankR) {
  dist::testing::FakeGroup::run(3, [](dist::Communicator& comm) {
    // Rank r sends 10 r + q to rank q, twice (chunks of 2).
    std::vector<double> send;
    for (int q = 0; q < 3; ++q) send.insert(send.end(), {10.0 * comm.rank() + q, 10.0 * comm.rank() + q});
    const Tensor recv = Tensor::zeros({6}, DType::F64);
    comm.all_to_all(Tensor::from_vector(send, {6}, DType::F64), recv);
    std::vector<double> expected;
    for (int q = 0; q < 3; ++q) expected.insert(expected.end(), {10.0 * q + comm.rank(), 10.0 * q + comm.rank()});
    EXPECT_EQ(recv.to_doubles(), expected);
  });
}

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

// Rank r's tokens: (2, 5, d) drawn from seed 100 + r.
Tensor tokens(int rank) {
  Rng rng(100 + uint64_t(rank));
  return testing::random_leaf({2, 5, 3}, rng, -1, 1);
}

// One forward and backward of the layer on rank `rank`'s tokens, the loss sum(y^2) + aux.
RankResult run(const SwitchMoE& moe, int rank) {
  const Tensor x = tokens(rank);
  const SwitchMoEOutput out = moe.forward(x);
  backward(ops::add(ops::sum(ops::mul(out.y, out.y)), out.aux_loss));
  return {out.y.to_doubles(),           {out.aux_loss.item()},          x.grad().to_doubles(),
          moe.router.value.grad().to_doubles(), moe.w1.value.grad().to_doubles(), moe.w2.value.grad().to_doubles()};
}

void expect_near(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-12) << what << " at " << i;
}

TEST(ExpertParallel, ShardedLayerMatchesTheUnshardedOne) {
  for (int ranks : {2, 4}) {
    for (int64_t top_k : {1, 2}) {
      SCOPED_TRACE(std::to_string(ranks) + " ranks, top_k " + std::to_string(top_k));
      // The unsharded layer on each rank's tokens; data parallelism would sum the weight gradients.
      std::vector<RankResult> plain(ranks);
      Rng rng(7);
      const SwitchMoE whole("moe", 3, config(top_k), 1.0, {DType::F64}, rng);
      for (int r = 0; r < ranks; ++r) {
        for (const Parameter* p : {&whole.router, &whole.w1, &whole.w2}) p->value.zero_grad();
        plain[r] = run(whole, r);
      }
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
      std::vector<double> router_sum(plain[0].grad_router.size(), 0.0), w1_sum(plain[0].grad_w1.size(), 0.0),
          w2_sum(plain[0].grad_w2.size(), 0.0);
      for (int r = 0; r < ranks; ++r) {
        for (size_t i = 0; i < router_sum.size(); ++i) router_sum[i] += plain[r].grad_router[i];
        for (size_t i = 0; i < w1_sum.size(); ++i) w1_sum[i] += plain[r].grad_w1[i];
        for (size_t i = 0; i < w2_sum.size(); ++i) w2_sum[i] += plain[r].grad_w2[i];
      }
      for (int r = 0; r < ranks; ++r) {
        SCOPED_TRACE("rank " + std::to_string(r));
        expect_near(sharded[r].y, plain[r].y, "output");
        expect_near(sharded[r].aux, plain[r].aux, "aux loss");
        expect_near(sharded[r].grad_x, plain[r].grad_x, "input gradient");
        expect_near(sharded[r].grad_router, plain[r].grad_router, "router gradient (before the all-reduce)");
        const size_t w1_rows = w1_sum.size() / size_t(ranks), w2_rows = w2_sum.size() / size_t(ranks);
        expect_near(sharded[r].grad_w1, {w1_sum.begin() + r * w1_rows, w1_sum.begin() + (r + 1) * w1_rows}, "w1 shard");
        expect_near(sharded[r].grad_w2, {w2_sum.begin() + r * w2_rows, w2_sum.begin() + (r + 1) * w2_rows}, "w2 shard");
      }
    }
  }
}

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
