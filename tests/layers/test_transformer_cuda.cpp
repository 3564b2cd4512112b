// tests/layers/test_transformer_cuda.cpp — the Transformer++ language model on a CUDA device against
// the CPU: logits, loss and every parameter gradient in fp32, and bf16 compute with fp32 master weights
// tracking the fp32 model. Skipped where there is no CUDA device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "layers/model_spec.h"
#include "tests/support/compare.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {

std::unique_ptr<Model> build(const TransformerConfig& c, uint64_t seed, Device device) {
  ModelSpec spec;
  spec.backbone = "transformer";
  spec.transformer = c;
  return build_model(spec, seed, {DType::F32, device});
}

// ids and next-token targets (every 13th ignored) of B rows of L tokens, on the CPU.
ModelBatch random_batch(int64_t B, int64_t L, int64_t vocab, uint64_t seed) {
  std::vector<int64_t> ids(B * L), targets(B * L);
  Rng rng(seed);
  for (size_t i = 0; i < ids.size(); ++i) {
    ids[i] = static_cast<int64_t>(rng.below(vocab));
    targets[i] = i % 13 == 0 ? -100 : static_cast<int64_t>(rng.below(vocab));
  }
  ModelBatch batch;
  batch.keep_logits = true;  // the tests compare logits, which training otherwise fuses into the loss
  batch.ids = Tensor::from_indices(ids, {B, L}, DType::I32);
  batch.targets = Tensor::from_indices(targets, {B, L}, DType::I32);
  return batch;
}

ModelBatch on_cuda(const ModelBatch& batch) {
  ModelBatch out;
  out.keep_logits = batch.keep_logits;
  out.ids = batch.ids.to(Device::cuda());
  out.targets = batch.targets.to(Device::cuda());
  return out;
}

class TransformerCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_F(TransformerCuda, MatchesCpu) {
  TransformerConfig c;
  c.d_model = 48, c.n_layer = 2, c.n_head = 3, c.d_ff = 72, c.vocab_size = 61;  // heads of 16; odd sizes
  const auto cpu = build(c, 21, Device::cpu()), gpu = build(c, 21, Device::cuda());
  const ModelBatch batch = random_batch(2, 67, c.vocab_size, 4);
  const ModelOutput cpu_out = cpu->forward(batch);
  backward(cpu_out.loss);
  const ModelOutput gpu_out = gpu->forward(on_cuda(batch));
  backward(gpu_out.loss);
  testing::expect_close(gpu_out.logits, cpu_out.logits.to_doubles(), 1e-4, 1e-4);
  EXPECT_NEAR(gpu_out.loss.item(), cpu_out.loss.item(), 1e-5 * std::abs(cpu_out.loss.item()));
  for (size_t i = 0; i < cpu->parameters().size(); ++i) {
    const Parameter &want = cpu->parameters()[i], &got = gpu->parameters()[i];
    SCOPED_TRACE(want.name);
    ASSERT_EQ(want.name, got.name);
    ASSERT_TRUE(got.value.grad().defined());
    double largest = 0;  // summation orders differ between devices: compare against the largest entry
    for (double v : want.value.grad().to_doubles()) largest = std::max(largest, std::abs(v));
    testing::expect_close(got.value.grad(), want.value.grad().to_doubles(), 1e-3, 1e-4 * largest + 1e-7);
  }
}

// bf16 compute follows the fp32 CPU model: the loss to a fraction of a percent, each parameter gradient
// to a few percent in norm.
TEST_F(TransformerCuda, MixedPrecisionTracksFp32) {
  TransformerConfig c;
  c.d_model = 128, c.n_layer = 2, c.n_head = 2, c.vocab_size = 61;  // heads of 64, d_ff auto 384
  const auto cpu = build(c, 5, Device::cpu()), gpu = build(c, 5, Device::cuda());
  gpu->set_compute_dtype(DType::BF16);
  const ModelBatch batch = random_batch(2, 130, c.vocab_size, 6);
  const Tensor cpu_loss = cpu->forward(batch).loss;
  backward(cpu_loss);
  const ModelOutput gpu_out = gpu->forward(on_cuda(batch));
  EXPECT_EQ(gpu_out.logits.dtype(), DType::BF16);
  EXPECT_EQ(gpu_out.loss.dtype(), DType::F32);
  backward(gpu_out.loss);
  EXPECT_NEAR(gpu_out.loss.item(), cpu_loss.item(), 5e-3 * cpu_loss.item());
  testing::expect_gradients_close(gpu->parameters(), cpu->parameters(), 5e-2);
}

}  // namespace
}  // namespace krait
