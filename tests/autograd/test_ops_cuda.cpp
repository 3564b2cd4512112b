// Ops on CUDA tensors against the same ops on the CPU: outputs and every input gradient, at awkward
// sizes. Skipped where there is no CUDA device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "autograd/cuda_context.h"
#include "autograd/ops.h"
#include "common/error.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Runs f on CPU f32 copies of `inputs` and on CUDA copies in `dtype` (the first `activations` inputs;
// the rest are parameters, f32 on both sides), backpropagates the same random weights through both,
// and compares outputs and gradients.
void expect_cuda_matches_cpu(const Fn& f, const std::vector<Tensor>& inputs, DType dtype, double rtol, double atol,
                             size_t activations = SIZE_MAX) {
  std::vector<Tensor> cpu_in, gpu_in;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const DType type = i < activations ? dtype : DType::F32;
    // Both sides see the same (possibly bf16-rounded) values.
    const Tensor rounded = inputs[i].to(type).to(DType::F32);
    cpu_in.push_back(rounded.clone().set_requires_grad(true));
    gpu_in.push_back(rounded.to(type).to(Device::cuda()).set_requires_grad(true));
  }
  // One forward and backward at a time: backward runs (and then clears) the whole tape. A first pass
  // learns the output's shape and dtype.
  const Tensor cpu_out = f(cpu_in);
  Rng rng(9);
  const Tensor gpu_out = f(gpu_in);
  clear_tape();
  const Tensor w = testing::random_tensor(cpu_out.shape(), rng, -1, 1, DType::F32).to(gpu_out.dtype()).to(DType::F32);
  backward(f(cpu_in), w);
  backward(f(gpu_in), w.to(gpu_out.dtype()).to(Device::cuda()));
  testing::expect_close(gpu_out.to(DType::F32), cpu_out, rtol, atol);
  for (size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE("gradient of input " + std::to_string(i));
    testing::expect_close(gpu_in[i].grad().to(DType::F32), cpu_in[i].grad(), rtol, atol);
  }
}

class CudaOps : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  }
  Rng rng{17};
  Tensor rand(const Shape& s) { return testing::random_tensor(s, rng, -1, 1, DType::F32); }
};

TEST_F(CudaOps, MatmulAllTransposesAndBatching) {
  struct Case { Shape a, b; bool ta, tb; };
  for (const Case& c : {Case{{1, 1}, {1, 1}, false, false}, Case{{37, 65}, {65, 29}, false, false},
                        Case{{65, 37}, {29, 65}, true, true}, Case{{3, 33, 40}, {17, 40}, false, true},
                        Case{{3, 40, 33}, {40, 17}, true, false}, Case{{2, 33, 40}, {2, 40, 7}, false, false},
                        Case{{33, 40}, {3, 17, 40}, false, true}, Case{{40, 33}, {3, 40, 17}, true, false}}) {
    SCOPED_TRACE(shape_str(c.a) + " x " + shape_str(c.b));
    const Fn f = [&](const auto& in) { return ops::matmul(in[0], in[1], c.ta, c.tb); };
    expect_cuda_matches_cpu(f, {rand(c.a), rand(c.b)}, DType::F32, 1e-5, 1e-5);
    // bf16 inputs, fp32 accumulation, bf16 output: one bf16 rounding of each result.
    expect_cuda_matches_cpu(f, {rand(c.a), rand(c.b)}, DType::BF16, 1e-2, 2e-2);
  }
}

// A parameter in the activations' dtype: bf16 x with the f32 weight, whose gradient comes out in f32.
TEST_F(CudaOps, MatmulWeightOnF32Weights) {
  for (DType dtype : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    const double tol = dtype == DType::F32 ? 1e-5 : 2e-2;
    // in_proj: two row blocks, the weight on the left, x (B, L, d) transposed; a 1-row remainder block.
    expect_cuda_matches_cpu(
        [](const auto& in) {
          const TensorList xz = ops::matmul_weight_rows(in[1], {40, 33}, in[0], true, false, true);
          return ops::concat({ops::scale(xz[0], 0.5), xz[1]}, 1);
        },
        {rand({3, 129, 65}), rand({73, 65})}, dtype, tol, tol, 1);
    // out_proj: the weight on the right, x (B, E, L) transposed; Linear over rows of tokens.
    expect_cuda_matches_cpu([](const auto& in) { return ops::matmul_weight(in[1], in[0], false, true, true); },
                            {rand({3, 65, 129}), rand({37, 65})}, dtype, tol, tol, 1);
    expect_cuda_matches_cpu([](const auto& in) { return ops::matmul_weight(in[1], in[0], false, true, false); },
                            {rand({2, 129, 65}), rand({37, 65})}, dtype, tol, tol, 1);
  }
}

TEST_F(CudaOps, ShapeOps) {
  for (DType dtype : {DType::F32, DType::BF16}) {
    expect_cuda_matches_cpu([](const auto& in) { return ops::transpose(in[0], 1, 2); }, {rand({3, 37, 129})}, dtype, 0, 0);
    expect_cuda_matches_cpu([](const auto& in) { return ops::transpose(in[0], 0, 2); }, {rand({2, 5, 7, 3})}, dtype, 0, 0);
    expect_cuda_matches_cpu([](const auto& in) { return ops::slice(in[0], 1, 3, 40); }, {rand({2, 41, 9})}, dtype, 0, 0);
    expect_cuda_matches_cpu([](const auto& in) { return ops::split(in[0], -1, {5, 1, 11})[2]; }, {rand({4, 17})},
                            dtype, 0, 0);
    expect_cuda_matches_cpu([](const auto& in) { return ops::concat({in[0], in[1]}, 0); },
                            {rand({2, 9}), rand({5, 9})}, dtype, 0, 0);
    expect_cuda_matches_cpu([](const auto& in) { return ops::reshape(in[0], {9, 2}); }, {rand({3, 6})}, dtype, 0, 0);
  }
}

TEST_F(CudaOps, Elementwise) {
  for (DType dtype : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    // bf16 results are rounded once more than the f32 reference.
    const double tol = dtype == DType::F32 ? 1e-5 : 1e-2;
    for (const Shape& shape : {Shape{1}, Shape{7}, Shape{3, 2049}}) {
      expect_cuda_matches_cpu([](const auto& in) { return ops::silu(in[0]); }, {rand(shape)}, dtype, tol, tol);
      expect_cuda_matches_cpu([](const auto& in) { return ops::softplus(ops::scale(in[0], 30.0)); }, {rand(shape)},
                              dtype, tol, tol);
      expect_cuda_matches_cpu([](const auto& in) { return ops::sigmoid(in[0]); }, {rand(shape)}, dtype, tol, tol);
      expect_cuda_matches_cpu([](const auto& in) { return ops::exp(in[0]); }, {rand(shape)}, dtype, tol, tol);
      expect_cuda_matches_cpu([](const auto& in) { return ops::mul(in[0], in[1]); }, {rand(shape), rand(shape)}, dtype,
                              tol, tol);
    }
    // Broadcast operands: the gradient sums over 300 rows.
    expect_cuda_matches_cpu([](const auto& in) { return ops::add(in[0], in[1]); }, {rand({300, 37}), rand({37})},
                            dtype, tol, 4 * tol);
    expect_cuda_matches_cpu([](const auto& in) { return ops::mul(in[0], in[1]); }, {rand({3, 100, 37}), rand({100, 37})},
                            dtype, tol, 4 * tol);
  }
}

TEST_F(CudaOps, NeuralNetworkOps) {
  for (DType dtype : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    const double tol = dtype == DType::F32 ? 1e-5 : 2e-2;
    // x (B, D, L) with D not a multiple of 32 and L past a block; weight and bias stay f32.
    expect_cuda_matches_cpu([](const auto& in) { return ops::causal_conv1d(in[0], in[1], in[2]); },
                            {rand({2, 37, 2049}), rand({37, 4}), rand({37})}, dtype, tol, tol, 1);
    expect_cuda_matches_cpu([](const auto& in) { return ops::causal_conv1d(in[0], in[1]); },
                            {rand({1, 5, 1}), rand({5, 4})}, dtype, tol, tol, 1);
    // The fused SiLU (the mixer's), whose backward recomputes the pre-activation with the bias.
    expect_cuda_matches_cpu([](const auto& in) { return ops::causal_conv1d(in[0], in[1], in[2], true); },
                            {rand({3, 37, 1031}), rand({37, 4}), rand({37})}, dtype, tol, tol, 1);
    expect_cuda_matches_cpu([](const auto& in) { return ops::causal_conv1d(in[0], in[1], Tensor(), true); },
                            {rand({1, 5, 1}), rand({5, 4})}, dtype, tol, tol, 1);
    expect_cuda_matches_cpu([](const auto& in) { return ops::rms_norm(in[0], in[1], 1e-5); },
                            {rand({3, 7, 1000}), rand({1000})}, dtype, tol, tol, 1);
    // The fused residual add: x in dtype, the residual and the weight f32; y in x's dtype.
    expect_cuda_matches_cpu(
        [](const auto& in) {
          const TensorList hy = ops::add_rms_norm(in[0], in[1], in[2], 1e-5, in[0].dtype());
          return ops::add(ops::scale(hy[0], 0.5), ops::cast(hy[1], DType::F32));
        },
        {rand({3, 7, 1000}), rand({3, 7, 1000}), rand({1000})}, dtype, tol, tol, 1);
  }
  // The embedding table and the logits of cross-entropy, in f32 (the weight gradient is f32 on CUDA).
  const Tensor ids = Tensor::from_indices({3, 0, 49, 3, 17, 3, 0}, {7}, DType::I32);
  expect_cuda_matches_cpu([&](const auto& in) { return ops::embedding(in[0], ids.to(in[0].device())); },
                          {rand({50, 33})}, DType::F32, 1e-6, 1e-6, 0);
  const Tensor targets = Tensor::from_indices({5, -100, 50279, 0, 7}, {5}, DType::I64);
  for (auto reduction : {ops::Reduction::Mean, ops::Reduction::Sum})
    expect_cuda_matches_cpu(
        [&](const auto& in) { return ops::cross_entropy(in[0], targets.to(in[0].device()), -100, reduction); },
        {testing::random_tensor({5, 50280}, rng, -4, 4, DType::F32)}, DType::F32, 1e-5, 1e-6);
}

// The fused head + loss: hidden and the head's weight in f32 and bf16 (gradients accumulated in f32
// over the chunks), a padded vocabulary, an ignored row, chunks of 1 row, uneven chunks and one chunk.
TEST_F(CudaOps, LinearCrossEntropy) {
  const Tensor targets = Tensor::from_indices({5, -100, 50276, 0, 7, 49999, 3}, {7}, DType::I64);
  for (DType dtype : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    // f32: hidden's gradient sums 50,280 products, which rounds to about 2e-5 in either order.
    const double tol = dtype == DType::F32 ? 1e-4 : 2e-2;
    for (auto reduction : {ops::Reduction::Mean, ops::Reduction::Sum})
      for (int64_t chunk : {1, 3, 4096}) {
        SCOPED_TRACE("chunk " + std::to_string(chunk));
        expect_cuda_matches_cpu(
            [&](const auto& in) {
              return ops::linear_cross_entropy(in[0], in[1], targets.to(in[0].device()), -100, reduction, 50277, chunk);
            },
            {rand({7, 65}), rand({50280, 65})}, dtype, tol, tol);
      }
  }
}

TEST_F(CudaOps, SelectiveScan) {
  for (DType dtype : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    const double tol = dtype == DType::F32 ? 1e-4 : 3e-2;
    for (int64_t len : {1, 7, 2049}) {
      const int64_t batch = 2, dim = 37, state = 16;
      // Activations u, delta, B, C, z; then the f32 parameters A, D, delta_bias.
      const Fn f = [](const auto& in) {
        ops::ScanInputs s;
        s.u = in[0], s.delta = in[1], s.B = in[2], s.C = in[3], s.z = in[4];
        s.A = in[5], s.D_skip = in[6], s.delta_bias = in[7];
        s.delta_softplus = true;
        return ops::selective_scan(s);
      };
      const Tensor A = ops::scale(testing::random_tensor({dim, state}, rng, 0.5, 4.0, DType::F32), -1.0);
      expect_cuda_matches_cpu(f,
                              {rand({batch, dim, len}), testing::random_tensor({batch, dim, len}, rng, -4, -1, DType::F32),
                               rand({batch, state, len}), rand({batch, state, len}), rand({batch, dim, len}), A,
                               rand({dim}), rand({dim})},
                              dtype, tol, tol, 5);
    }
  }
}

// Sums and means along an axis and over everything, at awkward sizes: dim 1, a long axis (dim 1000003,
// split into slices whose sums are added in order), inner 1 and 7 (narrow column tiles), a wide inner
// with a partial last tile. The reference is the CPU kernel in f64 on the same (rounded) values; the
// forward tolerance scales with sum |x|, the bound on any summation order's rounding error.
void expect_reduce_matches_f64(const std::function<Tensor(const Tensor&)>& f, const Tensor& x32, DType dtype,
                               double scale) {
  const Tensor values = x32.to(dtype).to(DType::F64);
  Tensor cpu_in = values.clone().set_requires_grad(true);
  Tensor gpu_in = values.to(dtype).to(Device::cuda()).set_requires_grad(true);
  // One forward and backward at a time: backward runs (and then clears) the whole tape.
  const Tensor cpu_out = f(cpu_in);
  Rng rng(5);
  const Tensor w = testing::random_tensor(cpu_out.shape(), rng, -1, 1, DType::F64).to(dtype).to(DType::F64);
  backward(cpu_out, w);
  const Tensor gpu_out = f(gpu_in);
  ASSERT_EQ(gpu_out.shape(), cpu_out.shape());
  ASSERT_EQ(gpu_out.dtype(), dtype);
  backward(gpu_out, w.to(dtype).to(Device::cuda()));
  double abs_sum = 0;
  for (double v : values.to_doubles()) abs_sum += std::abs(v);
  // f32: accumulation error; bf16: plus one rounding of the result (relative 2^-8).
  const double atol = 1e-6 * abs_sum * scale;
  const double rtol = dtype == DType::F32 ? 1e-6 : 1.0 / 128;
  testing::expect_close(gpu_out.to(DType::F64), cpu_out, rtol, atol);
  // The gradient is w * scale broadcast: exact in f32 but for the rounding of the product.
  testing::expect_close(gpu_in.grad().to(DType::F64), cpu_in.grad(), rtol, 1e-30);
}

TEST_F(CudaOps, SumAndMeanMatchCpu) {
  struct Case { int64_t outer, dim, inner; };
  for (DType dtype : {DType::F32, DType::BF16}) {
    for (const Case& c : {Case{3, 1, 1}, Case{3, 1, 7}, Case{3, 1000003, 1}, Case{3, 1000003, 7}, Case{3, 257, 33},
                          Case{2, 5, 1000}, Case{1, 1, 1}}) {
      SCOPED_TRACE(std::string(dtype_name(dtype)) + " (" + std::to_string(c.outer) + ", " + std::to_string(c.dim) +
                   ", " + std::to_string(c.inner) + ")");
      const Tensor x = rand({c.outer, c.dim, c.inner});
      expect_reduce_matches_f64([](const Tensor& t) { return ops::sum(t, 1); }, x, dtype, 1.0);
      expect_reduce_matches_f64([](const Tensor& t) { return ops::mean(t, -2, true); }, x, dtype, 1.0 / c.dim);
      if (c.dim * c.inner < 100000) {  // the other axes, at these shapes
        expect_reduce_matches_f64([](const Tensor& t) { return ops::sum(t, 0); }, x, dtype, 1.0);
        expect_reduce_matches_f64([](const Tensor& t) { return ops::mean(t, 2); }, x, dtype, 1.0 / c.inner);
      }
    }
    // Everything at once: one row of 3 * 1000003 elements.
    const Tensor x = rand({3, 1000003});
    expect_reduce_matches_f64([](const Tensor& t) { return ops::sum(t); }, x, dtype, 1.0);
    expect_reduce_matches_f64([](const Tensor& t) { return ops::mean(t); }, x, dtype, 1.0 / 3000009);
  }
  // Two runs give the same bits (no atomics).
  const Tensor x = rand({3, 1000003, 7}).to(Device::cuda());
  EXPECT_EQ(ops::sum(x, 1).to_doubles(), ops::sum(x, 1).to_doubles());
  // f64 has no CUDA kernel: an error naming the op.
  try {
    ops::sum(Tensor::zeros({4}, DType::F64, Device::cuda()));
    ADD_FAILURE() << "f64 sum on CUDA did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sum: on CUDA x must be f32 or bf16"), std::string::npos) << e.what();
  }
}

// Sequence pooling against the CPU at awkward sizes: B = 3, L in {1, 257, 4099}, D in {1, 33, 768},
// lengths {L, 1, something between} and none, both modes, f32 and bf16 (bf16 results rounded once more).
TEST_F(CudaOps, PoolSequenceMatchesCpu) {
  for (DType dtype : {DType::F32, DType::BF16}) {
    const double rtol = dtype == DType::F32 ? 1e-5 : 1e-2;
    for (int64_t len : {1, 257, 4099}) {
      for (int64_t dim : {1, 33, 768}) {
        const Tensor x = rand({3, len, dim});
        const Tensor lengths = Tensor::from_indices({len, 1, std::max<int64_t>(1, len / 3 + 1)}, {3}, DType::I32);
        for (const bool with_lengths : {true, false}) {
          for (const auto mode : {ops::PoolMode::Mean, ops::PoolMode::Last}) {
            SCOPED_TRACE(std::string(dtype_name(dtype)) + " L=" + std::to_string(len) + " D=" + std::to_string(dim) +
                         (with_lengths ? " with lengths" : " without lengths") +
                         (mode == ops::PoolMode::Mean ? " mean" : " last"));
            expect_cuda_matches_cpu(
                [&](const auto& in) {
                  return ops::pool_sequence(in[0], with_lengths ? lengths.to(in[0].device()) : Tensor(), mode);
                },
                {x}, dtype, rtol, 1e-6);
          }
        }
      }
    }
  }
  // Deterministic: two runs give the same bits.
  const Tensor x = rand({3, 4099, 768}).to(Device::cuda());
  const Tensor lengths = Tensor::from_indices({4099, 1, 2000}, {3}, DType::I32).to(Device::cuda());
  EXPECT_EQ(ops::pool_sequence(x, lengths, ops::PoolMode::Mean).to_doubles(),
            ops::pool_sequence(x, lengths, ops::PoolMode::Mean).to_doubles());
}

TEST_F(CudaOps, PoolSequenceErrors) {
  const Tensor x = rand({3, 5, 4}).to(Device::cuda());
  // A bad length is found on the device and reported at the host's next wait; the kernels stay in bounds.
  const Tensor y = ops::pool_sequence(x, Tensor::from_indices({5, 0, 2}, {3}, DType::I32).to(Device::cuda()),
                                      ops::PoolMode::Last);
  std::string message;
  try {
    y.to(Device::cpu());
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("pool_sequence: lengths[1] = 0 is outside [1, 5]"), std::string::npos) << message;
  EXPECT_NO_THROW(y.to(Device::cpu()));  // reported once
  try {
    ops::pool_sequence(x, Tensor::from_indices({1, 2, 3}, {3}, DType::I32), ops::PoolMode::Mean);
    ADD_FAILURE() << "lengths on the cpu with x on cuda did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("different devices"), std::string::npos) << e.what();
  }
  try {
    ops::pool_sequence(Tensor::zeros({3, 5, 4}, DType::F64, Device::cuda()), Tensor(), ops::PoolMode::Mean);
    ADD_FAILURE() << "f64 on cuda did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pool_sequence: on CUDA x must be f32 or bf16"), std::string::npos) << e.what();
  }
}

// Ids and targets are checked on the device and reported when the host next waits for it (reading a
// value back, or cuda::synchronize), naming the op, the bad value and where it is; the kernels stay in
// bounds meanwhile. A failed check is reported once.
std::string error_reading_back(const Tensor& t) {
  try {
    t.to(Device::cpu());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(CudaOps, BadIdsAndTargetsAreErrors) {
  const Tensor table = rand({10, 4}).to(Device::cuda());
  const Tensor rows = ops::embedding(table, Tensor::from_indices({1, 2, 10}, {3}).to(Device::cuda()));
  const std::string id_error = error_reading_back(rows);
  EXPECT_NE(id_error.find("embedding: id 10 at position"), std::string::npos) << id_error;
  EXPECT_NO_THROW(rows.to(Device::cpu()));  // reported once

  const Tensor logits = rand({2, 10}).to(Device::cuda());
  const Tensor loss = ops::cross_entropy(logits, Tensor::from_indices({1, 11}, {2}).to(Device::cuda()));
  std::string target_error;
  try {
    cuda::synchronize(0);
  } catch (const Error& e) {
    target_error = e.what();
  }
  EXPECT_NE(target_error.find("cross_entropy: target 11 of row 1"), std::string::npos) << target_error;

  // Valid ids and targets leave nothing to report.
  const Tensor ok = ops::embedding(table, Tensor::from_indices({0, 9}, {2}).to(Device::cuda()));
  EXPECT_EQ(error_reading_back(ok), "");
}

}  // namespace
}  // namespace krait
