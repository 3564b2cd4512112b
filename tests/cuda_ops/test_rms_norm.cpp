// The CUDA RMSNorm against cpu::rms_norm_* run in double on the same rounded inputs: the plain form, and the
// form fused with the residual add (residual_out, and the gradient reaching residual_out from later layers),
// for f32 and bf16 activations, dims that do and do not fill 4-element packs (and one large enough to need
// more than 48 KB of shared memory), with bit-identical weight gradients between runs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/cpu/rms_norm.h"
#include "kernels/cuda/rms_norm.h"
#include "tests/cuda_ops/cuda_test_util.h"

namespace krait::kernels::cuda {
namespace {

using testing::DeviceBuffer;

constexpr double kEps = 1e-5;

struct Case {
  int64_t rows, dim;
  DType x_type, y_type;
  bool fused;
};

const Case kCases[] = {
    {1, 37, DType::F32, DType::F32, false},     {7, 1000, DType::F32, DType::F32, false},
    {2049, 37, DType::F32, DType::F32, false},  {513, 768, DType::BF16, DType::BF16, false},
    {7, 1000, DType::BF16, DType::F32, false},  {3, 13000, DType::F32, DType::F32, false},
    {1, 37, DType::F32, DType::F32, true},      {2049, 768, DType::F32, DType::F32, true},
    {513, 1000, DType::BF16, DType::BF16, true}, {7, 37, DType::BF16, DType::F32, true},
    {2, 16384, DType::BF16, DType::BF16, true},
};

std::string label(const Case& c) {
  return std::string(c.fused ? "fused " : "plain ") + dtype_name(c.x_type) + "->" + dtype_name(c.y_type) + " (" +
         std::to_string(c.rows) + ", " + std::to_string(c.dim) + ")";
}

TEST(CudaRmsNorm, MatchesCpu) {
  KRAIT_REQUIRE_GPU();
  Rng rng(31);
  for (const Case& c : kCases) {
    const std::string what = label(c);
    const int64_t n = c.rows * c.dim;
    const std::vector<double> x = testing::random_values(rng, n, -2, 2, c.x_type);
    const std::vector<double> weight = testing::random_values(rng, c.dim, 0.5, 1.5, DType::F32);
    const std::vector<double> grad_y = testing::random_values(rng, n, -1, 1, c.y_type);
    std::vector<double> residual, grad_residual_out;
    // h: what is normalised, as the device holds it (an f32 add is the exact sum rounded once).
    std::vector<double> h = x;
    if (c.fused) {
      residual = testing::random_values(rng, n, -2, 2, DType::F32);
      grad_residual_out = testing::random_values(rng, n, -1, 1, DType::F32);
      for (int64_t i = 0; i < n; ++i) h[i] = x[i] + residual[i];
      h = testing::round_to(DType::F32, h);
    }
    std::vector<double> y(n), rstd(c.rows), grad_h(n), grad_weight(c.dim);
    cpu::rms_norm_forward(h.data(), weight.data(), kEps, y.data(), rstd.data(), c.rows, c.dim);
    cpu::rms_norm_backward(h.data(), weight.data(), rstd.data(), grad_y.data(), grad_h.data(), grad_weight.data(),
                           c.rows, c.dim);
    for (size_t i = 0; i < grad_residual_out.size(); ++i) grad_h[i] += grad_residual_out[i];

    const DeviceBuffer dx = testing::upload(x, c.x_type), dweight = testing::upload(weight, DType::F32),
                       dgrad_y = testing::upload(grad_y, c.y_type), dresidual = testing::upload(residual, DType::F32),
                       dgrad_residual_out = testing::upload(grad_residual_out, DType::F32);
    DeviceBuffer dy(n * dtype_size(c.y_type)), drstd(c.rows * 4), dresidual_out(c.fused ? n * 4 : 0);
    rms_norm_forward(dx.get(), c.x_type, dresidual.as<float>(), dweight.as<float>(), float(kEps),
                     dresidual_out.as<float>(), dy.get(), c.y_type, drstd.as<float>(), c.rows, c.dim, nullptr);

    DeviceBuffer dgrad_x(n * dtype_size(c.x_type)), dgrad_residual(c.fused ? n * 4 : 0), dgrad_weight(c.dim * 4),
        dgrad_weight2(c.dim * 4), workspace(rms_norm_backward_workspace_bytes(c.rows, c.dim));
    const void* dh = c.fused ? dresidual_out.get() : dx.get();
    const DType h_type = c.fused ? DType::F32 : c.x_type;
    for (DeviceBuffer* dgw : {&dgrad_weight, &dgrad_weight2})
      rms_norm_backward(dh, h_type, dweight.as<float>(), drstd.as<float>(), dgrad_y.get(), c.y_type,
                        dgrad_residual_out.as<float>(), dgrad_x.get(), c.x_type, dgrad_residual.as<float>(),
                        dgw->as<float>(), workspace.get(), c.rows, c.dim, nullptr);

    testing::expect_close(testing::download(dy, c.y_type, n), y, testing::tolerance(c.y_type), what + " y");
    testing::expect_close(testing::download(drstd, DType::F32, c.rows), rstd, 1e-5, what + " rstd");
    testing::expect_close(testing::download(dgrad_x, c.x_type, n), grad_h, testing::tolerance(c.x_type),
                          what + " grad_x");
    testing::expect_close(testing::download(dgrad_weight, DType::F32, c.dim), grad_weight, 1e-5,
                          what + " grad_weight");
    testing::expect_bit_identical(dgrad_weight, dgrad_weight2, what + " grad_weight");
    if (c.fused) {
      testing::expect_close(testing::download(dresidual_out, DType::F32, n), h, 0.0, what + " residual_out");
      testing::expect_close(testing::download(dgrad_residual, DType::F32, n), grad_h, 1e-5, what + " grad_residual");
    }
  }
}

TEST(CudaRmsNorm, NullGradientsAreSkipped) {
  KRAIT_REQUIRE_GPU();
  Rng rng(32);
  const int64_t rows = 9, dim = 40;
  const std::vector<double> x = testing::random_values(rng, rows * dim, -2, 2, DType::F32);
  const std::vector<double> weight = testing::random_values(rng, dim, 0.5, 1.5, DType::F32);
  const std::vector<double> grad_y = testing::random_values(rng, rows * dim, -1, 1, DType::F32);
  std::vector<double> y(rows * dim), rstd(rows), grad_x(rows * dim), grad_weight(dim);
  cpu::rms_norm_forward(x.data(), weight.data(), kEps, y.data(), rstd.data(), rows, dim);
  cpu::rms_norm_backward(x.data(), weight.data(), rstd.data(), grad_y.data(), grad_x.data(), grad_weight.data(), rows,
                         dim);
  const DeviceBuffer dx = testing::upload(x, DType::F32), dweight = testing::upload(weight, DType::F32),
                     dgrad_y = testing::upload(grad_y, DType::F32), drstd = testing::upload(rstd, DType::F32);
  DeviceBuffer dgrad_x(rows * dim * 4), dgrad_weight(dim * 4), workspace(rms_norm_backward_workspace_bytes(rows, dim));
  rms_norm_backward(dx.get(), DType::F32, dweight.as<float>(), drstd.as<float>(), dgrad_y.get(), DType::F32, nullptr,
                    nullptr, DType::F32, nullptr, dgrad_weight.as<float>(), workspace.get(), rows, dim, nullptr);
  rms_norm_backward(dx.get(), DType::F32, dweight.as<float>(), drstd.as<float>(), dgrad_y.get(), DType::F32, nullptr,
                    dgrad_x.get(), DType::F32, nullptr, nullptr, nullptr, rows, dim, nullptr);
  testing::expect_close(testing::download(dgrad_weight, DType::F32, dim), grad_weight, 1e-5, "grad_weight alone");
  testing::expect_close(testing::download(dgrad_x, DType::F32, rows * dim), grad_x, 1e-5, "grad_x alone");
}

}  // namespace
}  // namespace krait::kernels::cuda
