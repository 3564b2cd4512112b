// The sequence classifier on a CUDA device against the CPU: loss, logits and every parameter gradient
// for mean and last pooling with per-row lengths, in fp32 and with bf16 compute. Skipped where there
// is no CUDA device.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "layers/model_spec.h"
#include "tests/support/compare.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {

class ClassifierCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  }
};

ModelSpec classifier_spec(ops::PoolMode pool, int64_t d_model) {
  ModelSpec spec;
  spec.task = Task::Classify;
  spec.num_classes = 5;
  spec.pool = pool;
  spec.mamba.d_model = d_model;
  spec.mamba.n_layer = 2;
  spec.mamba.vocab_size = 61;
  return spec;
}

// Four rows of seq_len ids (lengths from 1 to seq_len) with labels, on the host.
ModelBatch host_batch(int64_t seq_len, uint64_t seed) {
  const int64_t rows = 4;
  std::vector<int64_t> ids(rows * seq_len);
  Rng rng(seed);
  for (int64_t& id : ids) id = static_cast<int64_t>(rng.below(61));
  ModelBatch batch;
  batch.ids = Tensor::from_indices(ids, {rows, seq_len}, DType::I32);
  batch.labels = Tensor::from_indices({4, 0, 2, 1}, {rows}, DType::I32);
  batch.lengths = Tensor::from_indices({seq_len, 1, seq_len / 2 + 1, seq_len - 3}, {rows}, DType::I32);
  return batch;
}

ModelBatch on_cuda(const ModelBatch& b) {
  return {b.ids.to(Device::cuda()), Tensor(), b.labels.to(Device::cuda()), b.lengths.to(Device::cuda())};
}

void expect_gpu_matches_cpu(ops::PoolMode pool) {
  const ModelSpec spec = classifier_spec(pool, 48);  // d_inner 96, dt_rank 3: sizes that fill no block
  const auto cpu = build_model(spec, 21, {});
  const auto gpu = build_model(spec, 21, {DType::F32, Device::cuda()});
  const ModelBatch batch = host_batch(67, 4);
  {
    NoGradGuard no_grad;
    testing::expect_close(gpu->forward(on_cuda(batch)).logits, cpu->forward(batch).logits, 1e-4, 1e-4);
  }
  const Tensor cpu_loss = cpu->forward(batch).loss;
  backward(cpu_loss);
  const Tensor gpu_loss = gpu->forward(on_cuda(batch)).loss;
  backward(gpu_loss);
  EXPECT_NEAR(gpu_loss.item(), cpu_loss.item(), 1e-5 * std::abs(cpu_loss.item()));
  ASSERT_EQ(cpu->parameters().size(), gpu->parameters().size());
  for (size_t i = 0; i < cpu->parameters().size(); ++i) {
    const Parameter &c = cpu->parameters()[i], &g = gpu->parameters()[i];
    SCOPED_TRACE(c.name);
    ASSERT_EQ(c.name, g.name);
    ASSERT_TRUE(g.value.grad().defined());
    EXPECT_TRUE(g.value.grad().device().is_cuda());
    // Gradients are compared against the largest entry: summation orders differ between devices.
    double largest = 0;
    for (double v : c.value.grad().to_doubles()) largest = std::max(largest, std::abs(v));
    testing::expect_close(g.value.grad(), c.value.grad(), 1e-3, 1e-4 * largest + 1e-7);
  }
}

TEST_F(ClassifierCuda, MeanPoolMatchesCpu) { expect_gpu_matches_cpu(ops::PoolMode::Mean); }
TEST_F(ClassifierCuda, LastPoolMatchesCpu) { expect_gpu_matches_cpu(ops::PoolMode::Last); }

// bf16 compute with fp32 master weights follows the fp32 CPU model: the loss to a fraction of a
// percent, each parameter gradient to a few percent in norm.
void expect_bf16_tracks_fp32(ops::PoolMode pool) {
  const ModelSpec spec = classifier_spec(pool, 64);
  const auto cpu = build_model(spec, 5, {});
  const auto gpu = build_model(spec, 5, {DType::F32, Device::cuda()});
  gpu->set_compute_dtype(DType::BF16);
  EXPECT_EQ(gpu->compute_dtype(), DType::BF16);
  const ModelBatch batch = host_batch(128, 6);
  const Tensor cpu_loss = cpu->forward(batch).loss;
  backward(cpu_loss);
  const ModelOutput gpu_out = gpu->forward(on_cuda(batch));
  EXPECT_EQ(gpu_out.logits.dtype(), DType::BF16);
  EXPECT_EQ(gpu_out.loss.dtype(), DType::F32);
  backward(gpu_out.loss);
  EXPECT_NEAR(gpu_out.loss.item(), cpu_loss.item(), 5e-3 * cpu_loss.item());
  testing::expect_gradients_close(gpu->parameters(), cpu->parameters(), 5e-2);
}

TEST_F(ClassifierCuda, MeanPoolBf16TracksFp32) { expect_bf16_tracks_fp32(ops::PoolMode::Mean); }
TEST_F(ClassifierCuda, LastPoolBf16TracksFp32) { expect_bf16_tracks_fp32(ops::PoolMode::Last); }

}  // namespace
}  // namespace krait
