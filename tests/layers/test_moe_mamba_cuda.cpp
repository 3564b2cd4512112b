// MoE-Mamba on a CUDA device against the CPU, f32: the training loss (with its aux loss), the expert
// loads (routing is integer: the same on both) and every parameter's gradient; in bf16 the training
// loss stays within rounding of f32. Skipped where there is no CUDA device.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "layers/model_spec.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {

class MoeMambaCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  }
  static ModelSpec spec(int64_t top_k) {
    ModelSpec s;
    s.backbone = "moe-mamba";
    s.mamba.d_model = 48;  // experts 144 wide; 5 experts over 134 tokens: capacity 27 or 54, some dropped
    s.mamba.n_layer = 2;
    s.mamba.vocab_size = 61;
    s.mamba.moe.experts = 5;
    s.mamba.moe.top_k = top_k;
    return s;
  }
  static ModelBatch batch(Device device) {
    std::vector<int64_t> ids(2 * 67), targets(2 * 67);
    Rng rng(4);
    for (size_t i = 0; i < ids.size(); ++i) {
      ids[i] = static_cast<int64_t>(rng.below(61));
      targets[i] = i % 13 == 0 ? -100 : static_cast<int64_t>(rng.below(61));
    }
    ModelBatch b;
    b.ids = Tensor::from_indices(ids, {2, 67}, DType::I32).to(device);
    b.targets = Tensor::from_indices(targets, {2, 67}, DType::I32).to(device);
    return b;
  }
};

TEST_F(MoeMambaCuda, MatchesCpu) {
  for (int64_t top_k : {1, 2}) {
    SCOPED_TRACE("top_k " + std::to_string(top_k));
    const auto cpu = build_model(spec(top_k), 21, {DType::F32}), gpu = build_model(spec(top_k), 21, {DType::F32, Device::cuda()});
    const ModelOutput c = cpu->forward(batch(Device::cpu()));
    backward(c.loss);
    const ModelOutput g = gpu->forward(batch(Device::cuda()));
    backward(g.loss);
    EXPECT_NEAR(g.loss.item(), c.loss.item(), 1e-5 * std::abs(c.loss.item()));
    EXPECT_NEAR(g.aux_loss.item(), c.aux_loss.item(), 1e-6);
    ASSERT_EQ(g.expert_loads.size(), c.expert_loads.size());
    for (size_t l = 0; l < c.expert_loads.size(); ++l)
      EXPECT_EQ(g.expert_loads[l].load.to(Device::cpu()).to_doubles(), c.expert_loads[l].load.to_doubles()) << "layer " << l;
    for (size_t i = 0; i < cpu->parameters().size(); ++i) {
      const Parameter &pc = cpu->parameters()[i], &pg = gpu->parameters()[i];
      SCOPED_TRACE(pc.name);
      ASSERT_TRUE(pg.value.grad().defined());
      double largest = 0;
      for (double v : pc.value.grad().to_doubles()) largest = std::max(largest, std::abs(v));
      testing::expect_close(pg.value.grad(), pc.value.grad(), 1e-3, 1e-4 * largest + 1e-7);
    }
  }
}

TEST_F(MoeMambaCuda, Bf16TrainingLossFollowsF32) {
  const auto f32 = build_model(spec(1), 21, {DType::F32, Device::cuda()});
  const auto bf16 = build_model(spec(1), 21, {DType::F32, Device::cuda()});
  bf16->set_compute_dtype(DType::BF16);
  const ModelOutput a = f32->forward(batch(Device::cuda()));
  const ModelOutput b = bf16->forward(batch(Device::cuda()));
  backward(b.loss);
  clear_tape();
  EXPECT_TRUE(std::isfinite(b.loss.item()));
  EXPECT_NEAR(b.loss.item(), a.loss.item(), 3e-2 * std::abs(a.loss.item()));
  for (const Parameter& p : bf16->parameters()) EXPECT_TRUE(p.value.grad().defined()) << p.name;
}

}  // namespace
}  // namespace krait
