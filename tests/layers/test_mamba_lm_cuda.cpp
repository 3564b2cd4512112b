// The whole Mamba LM on a CUDA device against the CPU: logits, loss and every parameter gradient,
// for the selective model and the time-invariant ablation. Skipped where there is no CUDA device.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "layers/mamba_lm.h"
#include "tests/support/compare.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {

void expect_gpu_matches_cpu(const MambaConfig& config) {
  const MambaLM cpu(config, 21), gpu(config, 21, {DType::F32, Device::cuda()});
  std::vector<int64_t> ids(2 * 67), targets(2 * 67);
  Rng rng(4);
  for (size_t i = 0; i < ids.size(); ++i) {
    ids[i] = static_cast<int64_t>(rng.below(config.vocab_size));
    targets[i] = i % 13 == 0 ? -100 : static_cast<int64_t>(rng.below(config.vocab_size));
  }
  const Tensor x = Tensor::from_indices(ids, {2, 67}, DType::I32), y = Tensor::from_indices(targets, {2, 67});
  {
    NoGradGuard no_grad;
    testing::expect_close(gpu.forward(x.to(Device::cuda())), cpu.forward(x), 1e-4, 1e-4);
  }
  const Tensor cpu_loss = cpu.loss(x, y);
  backward(cpu_loss);
  const Tensor gpu_loss = gpu.loss(x.to(Device::cuda()), y.to(Device::cuda()));
  backward(gpu_loss);
  EXPECT_NEAR(gpu_loss.item(), cpu_loss.item(), 1e-5 * std::abs(cpu_loss.item()));
  for (size_t i = 0; i < cpu.parameters().size(); ++i) {
    const Parameter &c = cpu.parameters()[i], &g = gpu.parameters()[i];
    SCOPED_TRACE(c.name);
    ASSERT_EQ(c.name, g.name);
    ASSERT_TRUE(g.value.grad().defined());
    // Gradients are compared against the largest entry: summation orders differ between devices.
    double largest = 0;
    for (double v : c.value.grad().to_doubles()) largest = std::max(largest, std::abs(v));
    testing::expect_close(g.value.grad(), c.value.grad(), 1e-3, 1e-4 * largest + 1e-7);
  }
}

class MambaLMCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_F(MambaLMCuda, MatchesCpu) {
  MambaConfig c;
  c.d_model = 48;  // d_inner 96, dt_rank 3: sizes that fill no block exactly
  c.n_layer = 2;
  c.vocab_size = 61;
  expect_gpu_matches_cpu(c);
}

TEST_F(MambaLMCuda, TimeInvariantMatchesCpu) {
  MambaConfig c;
  c.d_model = 32;
  c.n_layer = 2;
  c.vocab_size = 40;
  c.selective = false;
  c.tie_embeddings = false;
  expect_gpu_matches_cpu(c);
}

// bf16 compute with fp32 master weights follows the fp32 CPU model: the loss to a fraction of a
// percent, each parameter gradient to a few percent in norm (every bf16 rounding adds ~0.4%).
TEST_F(MambaLMCuda, MixedPrecisionTracksFp32) {
  MambaConfig c;
  c.d_model = 64;
  c.n_layer = 2;
  c.vocab_size = 61;
  const MambaLM cpu(c, 5);
  MambaLM gpu(c, 5, {DType::F32, Device::cuda()});
  gpu.set_compute_dtype(DType::BF16);
  std::vector<int64_t> ids(2 * 129);
  Rng rng(6);
  for (int64_t& id : ids) id = static_cast<int64_t>(rng.below(c.vocab_size));
  const Tensor x = Tensor::from_indices(std::vector<int64_t>(ids.begin(), ids.end() - 2), {2, 128}, DType::I32);
  const Tensor y = Tensor::from_indices(std::vector<int64_t>(ids.begin() + 2, ids.end()), {2, 128}, DType::I32);
  const Tensor cpu_loss = cpu.loss(x, y);
  backward(cpu_loss);
  const Tensor gpu_loss = gpu.loss(x.to(Device::cuda()), y.to(Device::cuda()));
  EXPECT_EQ(gpu_loss.dtype(), DType::F32);
  backward(gpu_loss);
  EXPECT_NEAR(gpu_loss.item(), cpu_loss.item(), 5e-3 * cpu_loss.item());
  testing::expect_gradients_close(gpu.parameters(), cpu.parameters(), 5e-2);
}

}  // namespace
}  // namespace krait
