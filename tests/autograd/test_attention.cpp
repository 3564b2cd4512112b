// ops::causal_attention: on the CPU, the forward against a naive f64 composition (a full masked score
// matrix, softmax, times V), float64 gradient checks at small odd shapes, f32 against f64, and errors
// that name the op, the tensor and the shapes; on CUDA (skipped without a GPU), the op's output and
// gradient against the CPU's, in f32 and bf16.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "autograd/device.h"
#include "autograd/ops.h"
#include "common/error.h"
#include "tests/support/error_text.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {
using testing::expect_close;
using testing::expect_error;
using testing::expect_gradcheck;
using testing::random_leaf;
using testing::random_tensor;

// out (B, L, H * Dh) from qkv (B, L, 3 * H * Dh) by the textbook formula: the whole L x L score matrix,
// -inf above the diagonal, a row softmax, then P V.
std::vector<double> naive_attention(const Tensor& qkv, int64_t heads) {
  const int64_t batch = qkv.size(0), length = qkv.size(1), width = qkv.size(2) / 3, head_dim = width / heads;
  const std::vector<double> x = qkv.to_doubles();
  const auto at = [&](int64_t b, int64_t t, int64_t part, int64_t h, int64_t i) {
    return x[(b * length + t) * 3 * width + part * width + h * head_dim + i];
  };
  std::vector<double> out(batch * length * width, 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      std::vector<double> scores(length * length, -std::numeric_limits<double>::infinity());
      for (int64_t t = 0; t < length; ++t)
        for (int64_t s = 0; s <= t; ++s) {
          double dot = 0;
          for (int64_t i = 0; i < head_dim; ++i) dot += at(b, t, 0, h, i) * at(b, s, 1, h, i);
          scores[t * length + s] = dot / std::sqrt(double(head_dim));
        }
      for (int64_t t = 0; t < length; ++t) {
        double max = -std::numeric_limits<double>::infinity(), sum = 0;
        for (int64_t s = 0; s < length; ++s) max = std::max(max, scores[t * length + s]);
        for (int64_t s = 0; s < length; ++s) sum += std::exp(scores[t * length + s] - max);
        for (int64_t s = 0; s < length; ++s) {
          const double p = std::exp(scores[t * length + s] - max) / sum;
          for (int64_t i = 0; i < head_dim; ++i) out[(b * length + t) * width + h * head_dim + i] += p * at(b, s, 2, h, i);
        }
      }
    }
  return out;
}

TEST(CausalAttention, FirstPositionCopiesItsValue) {
  // Position 0 attends only to itself: out[0] = v[0] whatever q and k are.
  const Tensor qkv = Tensor::from_vector({5, -3, 2, 7, 0.25, -1.5}, {1, 1, 6}, DType::F64);
  expect_close(ops::causal_attention(qkv, 1), {0.25, -1.5}, 0, 0);
}

TEST(CausalAttention, ForwardMatchesNaive) {
  Rng rng(31);
  struct Shape4 {
    int64_t batch, length, heads, head_dim;
  };
  // The last shape has enough (batch, head) pairs and work to split over threads.
  for (const Shape4 s : {Shape4{2, 1, 1, 2}, Shape4{2, 5, 3, 4}, Shape4{1, 9, 1, 6}, Shape4{3, 40, 4, 8},
                         Shape4{2, 130, 6, 16}}) {
    const Tensor qkv = random_tensor({s.batch, s.length, 3 * s.heads * s.head_dim}, rng, -2, 2);
    const Tensor out = ops::causal_attention(qkv, s.heads);
    EXPECT_EQ(out.shape(), (Shape{s.batch, s.length, s.heads * s.head_dim}));
    expect_close(out, naive_attention(qkv, s.heads), 1e-12, 1e-13);
  }
}

TEST(CausalAttention, Gradcheck) {
  Rng rng(32);
  for (const int64_t length : {1, 5, 9})
    for (const int64_t heads : {1, 3})
      for (const int64_t head_dim : {2, 4, 6}) {
        SCOPED_TRACE("L " + std::to_string(length) + " H " + std::to_string(heads) + " Dh " + std::to_string(head_dim));
        expect_gradcheck([&](const std::vector<Tensor>& in) { return ops::causal_attention(in[0], heads); },
                         {random_leaf({2, length, 3 * heads * head_dim}, rng, -1.5, 1.5)});
      }
}

TEST(CausalAttention, F32MatchesF64) {
  Rng rng(33);
  const Tensor qkv = random_tensor({2, 33, 3 * 2 * 8}, rng, -2, 2);
  const Tensor g = random_tensor({2, 33, 2 * 8}, rng);
  Tensor x64 = qkv.detach().set_requires_grad(true), x32 = qkv.to(DType::F32).set_requires_grad(true);
  // One forward and backward at a time: backward() clears the whole tape.
  const Tensor out64 = ops::causal_attention(x64, 2);
  backward(out64, g);
  const Tensor out32 = ops::causal_attention(x32, 2);
  backward(out32, g.to(DType::F32));
  expect_close(out32, out64, 1e-5, 1e-5);
  expect_close(x32.grad(), x64.grad(), 1e-4, 1e-5);
}

TEST(CausalAttention, Errors) {
  expect_error([] { ops::causal_attention(Tensor::zeros({4, 6}, DType::F64), 1); },
               {"causal_attention", "qkv", "3-D", "f64[4, 6]"});
  expect_error([] { ops::causal_attention(Tensor::zeros({1, 2, 10}, DType::F64), 2); },
               {"causal_attention", "f64[1, 2, 10]", "3 * n_head * head_dim", "n_head = 2"});
  expect_error([] { ops::causal_attention(Tensor::zeros({1, 2, 6}, DType::F64), 0); },
               {"causal_attention", "n_head", "0"});
  expect_error([] { ops::causal_attention(Tensor::zeros({1, 2, 6}, DType::F64), -1); },
               {"causal_attention", "n_head", "-1"});
  expect_error([] { ops::causal_attention(Tensor::zeros({1, 2, 6}, DType::I64), 1); },
               {"causal_attention", "i64[1, 2, 6]"});
  expect_error([] { ops::causal_attention(Tensor::zeros({1, 2, 6}, DType::BF16), 1); },
               {"causal_attention", "bf16[1, 2, 6]", "f32 or f64"});
}

// The CUDA op (forward, the saved lse, the backward closure) against the CPU op on the same rounded values.
TEST(CausalAttention, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Rng rng(34);
  struct Config {
    DType dtype;
    int64_t heads, head_dim;
    double rtol;
  };
  for (const Config c : {Config{DType::F32, 3, 24, 1e-4}, Config{DType::BF16, 2, 64, 3e-2}}) {
    SCOPED_TRACE(dtype_name(c.dtype));
    const Tensor qkv = random_tensor({2, 77, 3 * c.heads * c.head_dim}, rng, -2, 2).to(c.dtype).to(DType::F64);
    const Tensor g = random_tensor({2, 77, c.heads * c.head_dim}, rng).to(c.dtype).to(DType::F64);
    Tensor cpu_x = qkv.detach().set_requires_grad(true);
    const Tensor cpu_out = ops::causal_attention(cpu_x, c.heads);
    backward(cpu_out, g);
    Tensor gpu_x = qkv.to(c.dtype).to(Device::cuda()).set_requires_grad(true);
    const Tensor gpu_out = ops::causal_attention(gpu_x, c.heads);
    EXPECT_EQ(gpu_out.dtype(), c.dtype);
    backward(gpu_out, g.to(c.dtype).to(Device::cuda()));
    EXPECT_EQ(gpu_x.grad().dtype(), c.dtype);
    expect_close(gpu_out.to(Device::cpu()).to(DType::F64), cpu_out, c.rtol, c.rtol);
    expect_close(gpu_x.grad().to(Device::cpu()).to(DType::F64), cpu_x.grad(), c.rtol, c.rtol);
  }
}

TEST(CausalAttention, CudaErrors) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  expect_error([] { ops::causal_attention(Tensor::zeros({1, 2, 6}, DType::F64, Device::cuda()), 1); },
               {"causal_attention", "f64[1, 2, 6]", "f32 or bf16"});
  expect_error([] { ops::causal_attention(Tensor::zeros({1, 2, 3 * 300}, DType::F32, Device::cuda()), 1); },
               {"causal_attention", "head_dim 300", "256"});
}

}  // namespace
}  // namespace krait
