// MoE-Mamba on the CPU: the SwitchMoE layer's float64 gradient check (input and every parameter,
// through the router's gate values and the load-balancing loss, top-1 and top-2, with drops); the
// load-balancing loss's values (1 for a uniform router), drops at capacity, the training loss as the
// task's loss plus the weighted aux loss and evaluation's without it, recomputation unchanged, no
// recurrence, and errors that name the recipe keys.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "layers/model_spec.h"
#include "layers/switch_moe.h"
#include "tests/layers/tiny_config.h"
#include "tests/support/error_text.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {

MoeConfig moe_config(int64_t experts, int64_t top_k) {
  MoeConfig c;
  c.experts = experts;
  c.top_k = top_k;
  c.hidden = 5;
  return c;
}

TEST(SwitchMoE, GradcheckInInputAndParameters) {
  for (int64_t top_k : {1, 2}) {
    SCOPED_TRACE("top_k " + std::to_string(top_k));
    Rng rng(5);
    SwitchMoE moe("moe", 4, moe_config(3, top_k), 1.0, {DType::F64}, rng);
    const auto f = [&](const std::vector<Tensor>& in) {
      moe.router.value = in[1], moe.w1.value = in[2], moe.w2.value = in[3];
      const SwitchMoEOutput out = moe.forward(in[0]);
      return ops::add(ops::sum(ops::mul(out.y, out.y)), out.aux_loss);
    };
    // 2 x 5 tokens over 3 experts: capacity ceil(10 k / 3) leaves some tokens dropped at random routing.
    testing::expect_gradcheck(f, {testing::random_leaf({2, 5, 4}, rng, -1, 1), moe.router.value.detach().set_requires_grad(true),
                                  moe.w1.value.detach().set_requires_grad(true), moe.w2.value.detach().set_requires_grad(true)});
  }
}

// A router of zeros gives every token the same probabilities: all pick expert 0 (ties go to the lower
// index), f = (1, 0, ...) and P = 1/E, so the loss is E x 1/E = 1, and expert 0 takes its capacity.
TEST(SwitchMoE, UniformRouterLossAndDrops) {
  Rng rng(6);
  SwitchMoE moe("moe", 4, moe_config(4, 1), 1.0, {DType::F64}, rng);
  moe.router.value = Tensor::zeros(moe.router.value.shape(), DType::F64);
  const SwitchMoEOutput out = moe.forward(testing::random_tensor({3, 8, 4}, rng));
  EXPECT_NEAR(out.aux_loss.item(), 1.0, 1e-12);
  EXPECT_EQ(out.load.choices, 24);
  EXPECT_EQ(out.load.load.to_doubles(), (std::vector<double>{6, 0, 0, 0}));  // capacity 24 / 4
}

ModelSpec moe_mamba() {
  ModelSpec spec;
  spec.backbone = "moe-mamba";
  spec.mamba = testing::tiny_config();
  spec.mamba.moe = moe_config(3, 1);
  return spec;
}

ModelBatch tiny_batch() {
  ModelBatch batch;
  batch.ids = Tensor::from_indices({1, 5, 2, 9, 0, 3, 3, 7, 10, 4}, {2, 5});
  batch.targets = Tensor::from_indices({5, 2, 9, 0, 3, 3, 7, 10, 4, -100}, {2, 5});
  return batch;
}

TEST(MoeMamba, TrainingLossIsTaskLossPlusWeightedAuxLoss) {
  const auto model = build_model(moe_mamba(), 3, {DType::F64});
  const ModelOutput train = model->forward(tiny_batch());
  clear_tape();
  ASSERT_TRUE(train.aux_loss.defined());
  ASSERT_EQ(train.expert_loads.size(), 2u);  // one per block
  ModelOutput eval;
  {
    NoGradGuard no_grad;
    eval = model->forward(tiny_batch());
  }
  EXPECT_NEAR(train.loss.item(), eval.loss.item() + eval.aux_loss.item(), 1e-12);
  // 0.01 x the mean over the layers of E sum_e f_e P_e, which lies in (0, E].
  EXPECT_GT(eval.aux_loss.item(), 0.0);
  EXPECT_LT(eval.aux_loss.item(), 0.01 * 3.0);
  bool named = false;
  for (const Parameter& p : model->parameters()) named |= p.name == "layers.1.moe.experts.w2";
  EXPECT_TRUE(named);
  EXPECT_EQ(model->generator(1), nullptr) << "routing depends on the batch: no recurrence";
}

TEST(MoeMamba, GradientsReachEveryParameter) {
  const auto model = build_model(moe_mamba(), 3, {DType::F64});
  backward(model->forward(tiny_batch()).loss);
  for (const Parameter& p : model->parameters()) {
    ASSERT_TRUE(p.value.grad().defined()) << p.name;
    double largest = 0;
    for (double g : p.value.grad().to_doubles()) largest = std::max(largest, std::abs(g));
    EXPECT_GT(largest, 0.0) << p.name;
  }
}

TEST(MoeMamba, BackboneAndExpertsMustAgree) {
  ModelSpec plain = moe_mamba();
  plain.backbone = "mamba";
  testing::expect_error([&] { build_model(plain, 1, {DType::F64}); }, {"mamba", "moe-mamba", "moe_experts"});
  ModelSpec none = moe_mamba();
  none.mamba.moe.experts = 0;
  testing::expect_error([&] { build_model(none, 1, {DType::F64}); }, {"moe-mamba", "moe_experts"});
  ModelSpec too_many = moe_mamba();
  too_many.mamba.moe.top_k = 4;
  testing::expect_error([&] { build_model(too_many, 1, {DType::F64}); }, {"moe_top_k"});
}

}  // namespace
}  // namespace krait
