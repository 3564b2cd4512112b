// The CUDA rotary and swiglu kernels against the CPU float kernels on the same (f32- or bf16-rounded)
// inputs, forward and backward, at sizes that fill no warp or pack evenly (head widths 2 to 130, odd
// feature counts, positions past 2^16 where the fp32 angle needs sincosf's full range reduction); and
// the ops on CUDA tensors against the ops on the CPU, gradients included.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/ops.h"
#include "kernels/cpu/rotary.h"
#include "kernels/cpu/swiglu.h"
#include "kernels/cuda/rotary.h"
#include "kernels/cuda/swiglu.h"
#include "tests/cuda_ops/cuda_test_util.h"
#include "tests/support/gradcheck.h"

namespace krait::kernels::cuda {
namespace {

using testing::DeviceBuffer;

const std::vector<DType> kTypes = {DType::F32, DType::BF16};

std::vector<float> as_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }
std::vector<double> as_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

struct RotaryShape {
  int64_t batch, seq, n_head, head_dim;
  double theta;
};

const RotaryShape kRotaryShapes[] = {{1, 1, 1, 2, 10000.0},  {2, 37, 3, 6, 10000.0},  {1, 2049, 2, 64, 10000.0},
                                     {3, 5, 5, 96, 10000.0}, {1, 300, 1, 130, 500.0}, {1, 70001, 1, 8, 10000.0}};

TEST(CudaRotary, ForwardAndBackwardMatchCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Rng rng(1);
  for (const RotaryShape& s : kRotaryShapes) {
    for (DType type : kTypes) {
      const std::string what = std::string(dtype_name(type)) + " B" + std::to_string(s.batch) + " L" +
                               std::to_string(s.seq) + " H" + std::to_string(s.n_head) + " Dh" +
                               std::to_string(s.head_dim);
      const int64_t n = s.batch * s.seq * 3 * s.n_head * s.head_dim;
      const std::vector<double> x = testing::random_values(rng, n, -2, 2, type);
      const std::vector<float> xf = as_float(x);
      std::vector<float> y(n), gx(n);
      cpu::rotary_forward(xf.data(), y.data(), s.batch, s.seq, s.n_head, s.head_dim, s.theta);
      cpu::rotary_backward(xf.data(), gx.data(), s.batch, s.seq, s.n_head, s.head_dim, s.theta);

      const DeviceBuffer dx = testing::upload(x, type);
      DeviceBuffer dy(n * dtype_size(type)), dgx(n * dtype_size(type));
      rotary_forward(dx.get(), dy.get(), type, s.batch, s.seq, s.n_head, s.head_dim, s.theta, nullptr);
      rotary_backward(dx.get(), dgx.get(), type, s.batch, s.seq, s.n_head, s.head_dim, s.theta, nullptr);
      testing::expect_close(testing::download(dy, type, n), as_double(y), testing::tolerance(type), what + " forward");
      testing::expect_close(testing::download(dgx, type, n), as_double(gx), testing::tolerance(type),
                            what + " backward");
    }
  }
}

TEST(CudaRotary, ValueHeadsAreCopiedExactly) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Rng rng(2);
  const int64_t B = 2, L = 19, H = 3, Dh = 10, width = 3 * H * Dh, n = B * L * width;
  for (DType type : kTypes) {
    const std::vector<double> x = testing::random_values(rng, n, -3, 3, type);
    const DeviceBuffer dx = testing::upload(x, type);
    DeviceBuffer dy(n * dtype_size(type));
    rotary_forward(dx.get(), dy.get(), type, B, L, H, Dh, 10000.0, nullptr);
    const std::vector<double> y = testing::download(dy, type, n);
    for (int64_t row = 0; row < B * L; ++row)
      for (int64_t j = 2 * H * Dh; j < width; ++j) ASSERT_EQ(y[row * width + j], x[row * width + j]) << row << ", " << j;
  }
}

TEST(CudaSwiglu, ForwardAndBackwardMatchCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Rng rng(3);
  // (rows, F): F = 1 and odd F take the one-element path, F % 4 == 0 the 4-element packs.
  for (const auto& [rows, F] : std::vector<std::pair<int64_t, int64_t>>{
           {1, 1}, {7, 3}, {33, 64}, {129, 2047}, {4096, 2048}, {3, 5461}, {5, 2752}}) {
    for (DType type : kTypes) {
      const std::string what = std::string(dtype_name(type)) + " rows " + std::to_string(rows) + " F " + std::to_string(F);
      const std::vector<double> x = testing::random_values(rng, rows * 2 * F, -8, 8, type);
      const std::vector<double> gy = testing::random_values(rng, rows * F, -1, 1, type);
      const std::vector<float> xf = as_float(x), gyf = as_float(gy);
      std::vector<float> y(rows * F), gx(rows * 2 * F);
      cpu::swiglu_forward(xf.data(), y.data(), rows, F);
      cpu::swiglu_backward(xf.data(), gyf.data(), gx.data(), rows, F);

      const DeviceBuffer dx = testing::upload(x, type), dgy = testing::upload(gy, type);
      DeviceBuffer dy(rows * F * dtype_size(type)), dgx(rows * 2 * F * dtype_size(type));
      swiglu_forward(dx.get(), dy.get(), type, rows, F, nullptr);
      swiglu_backward(dx.get(), dgy.get(), dgx.get(), type, rows, F, nullptr);
      testing::expect_close(testing::download(dy, type, rows * F), as_double(y), testing::tolerance(type),
                            what + " forward");
      testing::expect_close(testing::download(dgx, type, rows * 2 * F), as_double(gx), testing::tolerance(type),
                            what + " backward");
    }
  }
}

// The ops on CUDA tensors in `type` against the ops on CPU f32 tensors holding the same values: outputs
// and the input's gradient for the same upstream weights.
void expect_op_matches_cpu(const std::function<Tensor(const Tensor&)>& f, const Shape& shape, DType type, Rng& rng) {
  const Tensor values = krait::testing::random_tensor(shape, rng, -2, 2, DType::F32).to(type).to(DType::F32);
  Tensor cpu_x = values.clone().set_requires_grad(true);
  Tensor gpu_x = values.to(type).to(Device::cuda()).set_requires_grad(true);
  const Tensor cpu_y = f(cpu_x);
  const Tensor w = krait::testing::random_tensor(cpu_y.shape(), rng, -1, 1, DType::F32).to(type).to(DType::F32);
  backward(cpu_y, w);
  const Tensor gpu_y = f(gpu_x);
  EXPECT_EQ(gpu_y.dtype(), type);
  backward(gpu_y, w.to(type).to(Device::cuda()));
  const double tol = testing::tolerance(type);
  testing::expect_close(gpu_y.to(DType::F32).to_doubles(), cpu_y.to_doubles(), tol, "op forward");
  testing::expect_close(gpu_x.grad().to(DType::F32).to_doubles(), cpu_x.grad().to_doubles(), tol, "op gradient");
}

TEST(CudaTransformerOps, RotaryAndSwigluOnCudaTensorsFollowTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Rng rng(4);
  for (DType type : kTypes) {
    SCOPED_TRACE(dtype_name(type));
    expect_op_matches_cpu([](const Tensor& x) { return ops::rotary(x, 3, 10000.0); }, {2, 301, 3 * 3 * 14}, type, rng);
    expect_op_matches_cpu([](const Tensor& x) { return ops::swiglu(x); }, {2, 45, 2 * 37}, type, rng);
    expect_op_matches_cpu([](const Tensor& x) { return ops::swiglu(x); }, {3, 17, 2 * 128}, type, rng);
  }
}

}  // namespace
}  // namespace krait::kernels::cuda
