// The CUDA causal conv1d against cpu::causal_conv1d_* (and cpu::silu_* for the fused activation) run in
// double on the same rounded inputs: lengths shorter than the width and around the 1024-step tile, with and
// without bias and SiLU, f32 and bf16 activations; parameter gradients repeat bit for bit.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/cpu/conv1d.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/conv1d.h"
#include "tests/cuda_ops/cuda_test_util.h"

namespace krait::kernels::cuda {
namespace {

using testing::DeviceBuffer;

struct Case {
  int64_t batch, channels, length, width;
  bool bias, silu;
  DType type;
};

const Case kCases[] = {
    {2, 37, 1, 4, true, false, DType::F32},    {2, 37, 7, 4, true, true, DType::F32},
    {2, 37, 2047, 4, false, false, DType::F32}, {2, 37, 2049, 4, true, true, DType::F32},
    {1, 37, 8193, 4, true, true, DType::F32},   {3, 5, 1025, 1, true, false, DType::F32},
    {2, 3, 3000, 33, false, true, DType::F32},  {2, 37, 7, 4, true, true, DType::BF16},
    {2, 37, 2049, 4, true, true, DType::BF16},  {1, 37, 8193, 4, false, false, DType::BF16},
    // lengths that are multiples of 8 take 16-byte vectors; widths 8 and 9 straddle the register kernels
    {2, 37, 2048, 4, true, true, DType::BF16},  {2, 37, 4096, 4, true, true, DType::F32},
    {2, 3, 8, 4, true, true, DType::BF16},      {1, 5, 24, 8, true, true, DType::F32},
    {1, 5, 64, 9, true, true, DType::F32},      {1, 3, 40, 3, false, true, DType::BF16},
};

std::string label(const Case& c) {
  return std::string(dtype_name(c.type)) + " (" + std::to_string(c.batch) + ", " + std::to_string(c.channels) + ", " +
         std::to_string(c.length) + ") width " + std::to_string(c.width) + (c.bias ? " bias" : "") +
         (c.silu ? " silu" : "");
}

TEST(CudaConv1d, MatchesCpu) {
  KRAIT_REQUIRE_GPU();
  Rng rng(41);
  for (const Case& c : kCases) {
    const std::string what = label(c);
    const int64_t n = c.batch * c.channels * c.length, taps = c.channels * c.width;
    const std::vector<double> x = testing::random_values(rng, n, -2, 2, c.type);
    const std::vector<double> weight = testing::random_values(rng, taps, -0.6, 0.6, DType::F32);
    const std::vector<double> bias = c.bias ? testing::random_values(rng, c.channels, -1, 1, DType::F32)
                                            : std::vector<double>();
    const std::vector<double> grad_out = testing::random_values(rng, n, -1, 1, c.type);

    std::vector<double> pre(n), out(n), grad_pre = grad_out, grad_x(n), grad_weight(taps), grad_bias(c.channels);
    cpu::causal_conv1d_forward(x.data(), weight.data(), c.bias ? bias.data() : nullptr, pre.data(), c.batch,
                               c.channels, c.length, c.width);
    out = pre;
    if (c.silu) {
      cpu::silu_forward(pre.data(), out.data(), n);
      cpu::silu_backward(pre.data(), grad_out.data(), grad_pre.data(), n);
    }
    cpu::causal_conv1d_backward(x.data(), weight.data(), grad_pre.data(), grad_x.data(), grad_weight.data(),
                                grad_bias.data(), c.batch, c.channels, c.length, c.width);

    const DeviceBuffer dx = testing::upload(x, c.type), dweight = testing::upload(weight, DType::F32),
                       dbias = testing::upload(bias, DType::F32), dgrad_out = testing::upload(grad_out, c.type);
    DeviceBuffer dout(n * dtype_size(c.type)), dgrad_x(n * dtype_size(c.type)), dgrad_weight(taps * 4),
        dgrad_bias(c.channels * 4), dgrad_weight2(taps * 4), dgrad_bias2(c.channels * 4),
        workspace(causal_conv1d_backward_workspace_bytes(c.batch, c.channels, c.length, c.width));
    causal_conv1d_forward(dx.get(), c.type, dweight.as<float>(), dbias.as<float>(), c.silu, dout.get(), c.batch,
                          c.channels, c.length, c.width, nullptr);
    causal_conv1d_backward(dx.get(), c.type, dweight.as<float>(), dbias.as<float>(), c.silu, dgrad_out.get(),
                           dgrad_x.get(), dgrad_weight.as<float>(), dgrad_bias.as<float>(), workspace.get(), c.batch,
                           c.channels, c.length, c.width, nullptr);
    causal_conv1d_backward(dx.get(), c.type, dweight.as<float>(), dbias.as<float>(), c.silu, dgrad_out.get(),
                           nullptr, dgrad_weight2.as<float>(), dgrad_bias2.as<float>(), workspace.get(), c.batch,
                           c.channels, c.length, c.width, nullptr);

    testing::expect_close(testing::download(dout, c.type, n), out, testing::tolerance(c.type), what + " out");
    testing::expect_close(testing::download(dgrad_x, c.type, n), grad_x, testing::tolerance(c.type),
                          what + " grad_x");
    // The parameter gradients are f32 sums of exactly rounded inputs: f32 tolerance for either type.
    testing::expect_close(testing::download(dgrad_weight, DType::F32, taps), grad_weight, 1e-5,
                          what + " grad_weight");
    testing::expect_close(testing::download(dgrad_bias, DType::F32, c.channels), grad_bias, 1e-5,
                          what + " grad_bias");
    testing::expect_bit_identical(dgrad_weight, dgrad_weight2, what + " grad_weight");
    testing::expect_bit_identical(dgrad_bias, dgrad_bias2, what + " grad_bias");
  }
}

TEST(CudaConv1d, BiasGradientAlone) {
  KRAIT_REQUIRE_GPU();
  Rng rng(42);
  const int64_t batch = 2, channels = 6, length = 1500, width = 4, n = batch * channels * length;
  const std::vector<double> x = testing::random_values(rng, n, -2, 2, DType::F32);
  const std::vector<double> weight = testing::random_values(rng, channels * width, -0.6, 0.6, DType::F32);
  const std::vector<double> grad_out = testing::random_values(rng, n, -1, 1, DType::F32);
  std::vector<double> grad_bias(channels);
  cpu::causal_conv1d_backward<double>(x.data(), weight.data(), grad_out.data(), nullptr, nullptr, grad_bias.data(),
                                      batch, channels, length, width);
  const DeviceBuffer dx = testing::upload(x, DType::F32), dweight = testing::upload(weight, DType::F32),
                     dgrad_out = testing::upload(grad_out, DType::F32);
  DeviceBuffer dgrad_bias(channels * 4);
  DeviceBuffer workspace(causal_conv1d_backward_workspace_bytes(batch, channels, length, width));
  causal_conv1d_backward(dx.get(), DType::F32, dweight.as<float>(), nullptr, false, dgrad_out.get(), nullptr, nullptr,
                         dgrad_bias.as<float>(), workspace.get(), batch, channels, length, width, nullptr);
  testing::expect_close(testing::download(dgrad_bias, DType::F32, channels), grad_bias, 1e-5, "grad_bias");
}

}  // namespace
}  // namespace krait::kernels::cuda
