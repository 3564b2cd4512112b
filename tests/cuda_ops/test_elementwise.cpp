// The CUDA pointwise kernels against the CPU reference run in double on the same (f32- or bf16-rounded)
// inputs: unary forward and backward, add/mul with and without broadcast, scaling, and the deterministic
// sums over the leading axes, at sizes that do and do not fill 4-element packs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/elementwise.h"
#include "tests/cuda_ops/cuda_test_util.h"

namespace krait::kernels::cuda {
namespace {

using testing::DeviceBuffer;

const std::vector<int64_t> kSizes = {1, 7, 2047, 2049, 8192, 8193};
const std::vector<DType> kTypes = {DType::F32, DType::BF16};

std::string label(DType type, int64_t n) { return std::string(dtype_name(type)) + " n=" + std::to_string(n); }

struct UnaryCase {
  Unary op;
  const char* name;
  double lo, hi;  // input range
  void (*forward)(const double*, double*, int64_t);
  bool backward_from_output;
  void (*backward)(const double*, const double*, double*, int64_t);
};

void exp_backward(const double* y, const double* gy, double* gx, int64_t n) { cpu::mul_forward(gy, y, gx, n); }

const UnaryCase kUnaryCases[] = {
    {Unary::Silu, "silu", -24, 24, cpu::silu_forward<double>, false, cpu::silu_backward<double>},
    {Unary::Softplus, "softplus", -30, 30, cpu::softplus_forward<double>, false, cpu::softplus_backward<double>},
    {Unary::Sigmoid, "sigmoid", -24, 24, cpu::sigmoid_forward<double>, true, cpu::sigmoid_backward<double>},
    {Unary::Exp, "exp", -8, 8, cpu::exp_forward<double>, true, exp_backward},
};

TEST(CudaElementwise, UnaryForwardAndBackwardMatchCpu) {
  KRAIT_REQUIRE_GPU();
  Rng rng(1);
  for (const UnaryCase& c : kUnaryCases) {
    for (DType type : kTypes) {
      for (int64_t n : kSizes) {
        const std::string what = std::string(c.name) + " " + label(type, n);
        const std::vector<double> x = testing::random_values(rng, n, c.lo, c.hi, type);
        const std::vector<double> gy = testing::random_values(rng, n, -1, 1, type);
        std::vector<double> y(n), gx(n);
        c.forward(x.data(), y.data(), n);
        // Sigmoid and exp differentiate from their stored (rounded) output.
        const std::vector<double> saved = c.backward_from_output ? testing::round_to(type, y) : x;
        c.backward(saved.data(), gy.data(), gx.data(), n);

        const DeviceBuffer dx = testing::upload(x, type), dgy = testing::upload(gy, type),
                           dsaved = testing::upload(saved, type);
        DeviceBuffer dy(n * dtype_size(type)), dgx(n * dtype_size(type));
        unary_forward(c.op, dx.get(), dy.get(), type, n, nullptr);
        unary_backward(c.op, dsaved.get(), dgy.get(), dgx.get(), type, n, nullptr);
        testing::expect_close(testing::download(dy, type, n), y, testing::tolerance(type), what + " forward");
        testing::expect_close(testing::download(dgx, type, n), gx, testing::tolerance(type), what + " backward");
      }
    }
  }
}

TEST(CudaElementwise, SoftplusThresholdIsExclusive) {
  KRAIT_REQUIRE_GPU();
  const std::vector<double> x = {19.5, 20.0, 20.5, -20.0};
  std::vector<double> y(4), gx(4);
  const std::vector<double> ones(4, 1.0);
  cpu::softplus_forward(x.data(), y.data(), 4);
  cpu::softplus_backward(x.data(), ones.data(), gx.data(), 4);
  const DeviceBuffer dx = testing::upload(x, DType::F32), dones = testing::upload(ones, DType::F32);
  DeviceBuffer dy(16), dgx(16);
  unary_forward(Unary::Softplus, dx.get(), dy.get(), DType::F32, 4, nullptr);
  unary_backward(Unary::Softplus, dx.get(), dones.get(), dgx.get(), DType::F32, 4, nullptr);
  testing::expect_close(testing::download(dy, DType::F32, 4), y, 1e-6, "softplus forward");
  testing::expect_close(testing::download(dgx, DType::F32, 4), gx, 1e-6, "softplus backward");
}

struct Shape2 {
  int64_t outer, inner;
};
const std::vector<Shape2> kBroadcastShapes = {{1, 1}, {1, 7}, {1, 8192}, {7, 37}, {3, 2048}, {2049, 1000}, {8193, 5}};

TEST(CudaElementwise, AddAndMulMatchCpu) {
  KRAIT_REQUIRE_GPU();
  Rng rng(2);
  for (DType type : kTypes) {
    for (const Shape2& s : kBroadcastShapes) {
      const int64_t n = s.outer * s.inner;
      const std::vector<double> a = testing::random_values(rng, n, -2, 2, type);
      const std::vector<double> b = testing::random_values(rng, s.inner, -2, 2, type);
      std::vector<double> sum(n), product(n);
      cpu::add_broadcast(a.data(), b.data(), sum.data(), s.outer, s.inner);
      cpu::mul_broadcast(a.data(), b.data(), product.data(), s.outer, s.inner);
      const DeviceBuffer da = testing::upload(a, type), db = testing::upload(b, type);
      DeviceBuffer dsum(n * dtype_size(type)), dproduct(n * dtype_size(type));
      binary_forward(Binary::Add, da.get(), db.get(), dsum.get(), type, s.outer, s.inner, nullptr);
      binary_forward(Binary::Mul, da.get(), db.get(), dproduct.get(), type, s.outer, s.inner, nullptr);
      const std::string what = std::string(dtype_name(type)) + " (" + std::to_string(s.outer) + ", " +
                               std::to_string(s.inner) + ")";
      testing::expect_close(testing::download(dsum, type, n), sum, testing::tolerance(type), what + " add");
      testing::expect_close(testing::download(dproduct, type, n), product, testing::tolerance(type), what + " mul");
    }
  }
}

TEST(CudaElementwise, SameShapeAddMulAndScaleMatchCpu) {
  KRAIT_REQUIRE_GPU();
  Rng rng(3);
  for (DType type : kTypes) {
    for (int64_t n : kSizes) {
      const std::vector<double> a = testing::random_values(rng, n, -2, 2, type);
      const std::vector<double> b = testing::random_values(rng, n, -2, 2, type);
      std::vector<double> sum(n), product(n), scaled(n);
      cpu::add(a.data(), b.data(), sum.data(), n);
      cpu::mul_forward(a.data(), b.data(), product.data(), n);
      cpu::scale(a.data(), double(0.37f), scaled.data(), n);
      const DeviceBuffer da = testing::upload(a, type), db = testing::upload(b, type);
      DeviceBuffer dsum(n * dtype_size(type)), dproduct(n * dtype_size(type)), dscaled(n * dtype_size(type));
      binary_forward(Binary::Add, da.get(), db.get(), dsum.get(), type, 1, n, nullptr);
      binary_forward(Binary::Mul, da.get(), db.get(), dproduct.get(), type, 1, n, nullptr);
      scale(da.get(), 0.37f, dscaled.get(), type, n, nullptr);
      const std::string what = label(type, n);
      testing::expect_close(testing::download(dsum, type, n), sum, testing::tolerance(type), what + " add");
      testing::expect_close(testing::download(dproduct, type, n), product, testing::tolerance(type), what + " mul");
      testing::expect_close(testing::download(dscaled, type, n), scaled, testing::tolerance(type), what + " scale");
    }
  }
}

TEST(CudaElementwise, MisalignedPointersTakeTheElementPath) {
  KRAIT_REQUIRE_GPU();
  Rng rng(4);
  const int64_t n = 4096;
  const std::vector<double> x = testing::random_values(rng, n + 1, -3, 3, DType::F32);
  std::vector<double> y(n);
  cpu::silu_forward(x.data() + 1, y.data(), n);
  const DeviceBuffer dx = testing::upload(x, DType::F32);
  DeviceBuffer dy((n + 1) * sizeof(float));
  unary_forward(Unary::Silu, dx.as<float>() + 1, dy.as<float>() + 1, DType::F32, n, nullptr);
  std::vector<double> got = testing::download(dy, DType::F32, n + 1);
  got.erase(got.begin());
  testing::expect_close(got, y, 1e-5, "silu at an odd offset");
}

const std::vector<Shape2> kSumShapes = {{1, 37}, {7, 1000}, {2049, 37}, {8193, 1000}, {100000, 3}, {0, 5}};

TEST(CudaElementwise, SumOuterMatchesCpuAndIsDeterministic) {
  KRAIT_REQUIRE_GPU();
  Rng rng(5);
  for (DType type : kTypes) {
    for (const Shape2& s : kSumShapes) {
      const int64_t n = s.outer * s.inner;
      const std::vector<double> x = testing::random_values(rng, n, -1, 1, type);
      const std::vector<double> w = testing::random_values(rng, n, -1, 1, type);
      std::vector<double> sum(s.inner), product_sum(s.inner);
      cpu::sum_outer(x.data(), sum.data(), s.outer, s.inner);
      cpu::sum_outer_product(x.data(), w.data(), product_sum.data(), s.outer, s.inner);
      const DeviceBuffer dx = testing::upload(x, type), dw = testing::upload(w, type);
      DeviceBuffer workspace(sum_outer_workspace_bytes(s.outer, s.inner));
      const size_t out_bytes = s.inner * dtype_size(type);
      DeviceBuffer dsum(out_bytes), dsum2(out_bytes), dproduct(out_bytes), dproduct2(out_bytes);
      sum_outer(dx.get(), nullptr, dsum.get(), type, s.outer, s.inner, workspace.get(), nullptr);
      sum_outer(dx.get(), nullptr, dsum2.get(), type, s.outer, s.inner, workspace.get(), nullptr);
      sum_outer(dx.get(), dw.get(), dproduct.get(), type, s.outer, s.inner, workspace.get(), nullptr);
      sum_outer(dx.get(), dw.get(), dproduct2.get(), type, s.outer, s.inner, workspace.get(), nullptr);
      const std::string what = std::string(dtype_name(type)) + " (" + std::to_string(s.outer) + ", " +
                               std::to_string(s.inner) + ")";
      testing::expect_close(testing::download(dsum, type, s.inner), sum, testing::tolerance(type), what + " sum");
      testing::expect_close(testing::download(dproduct, type, s.inner), product_sum, testing::tolerance(type),
                            what + " product sum");
      testing::expect_bit_identical(dsum, dsum2, what + " sum");
      testing::expect_bit_identical(dproduct, dproduct2, what + " product sum");
    }
  }
}

}  // namespace
}  // namespace krait::kernels::cuda
