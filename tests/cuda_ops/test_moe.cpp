// The mixture-of-experts ops on CUDA tensors against the same ops on the CPU: routing identical to the integer
// (ties, NaN, drops, more choices than one scan step holds, T from 1 to 20000), and softmax, routing_gates,
// moe_dispatch and moe_combine, outputs and gradients, in f32 and bf16 at awkward sizes (D = 769 and odd widths
// take the one-element path, D = 768 the 16-byte packs). Skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/ops.h"
#include "tests/cuda_ops/cuda_test_util.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {
using ops::ExpertRouting;
namespace cuda_testing = kernels::cuda::testing;

const std::vector<DType> kTypes = {DType::F32, DType::BF16};

// (T, E, k, C, D)
using Case = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>;
const std::vector<Case> kCases = {{1, 1, 1, 1, 1},     {1, 4, 2, 1, 3},       {7, 3, 2, 2, 5},
                                  {1000, 42, 2, 24, 769}, {333, 6, 2, 100, 768}, {20000, 8, 2, 6250, 64},
                                  {257, 5, 1, 40, 128}};

std::string describe(const Case& c) {
  const auto& [T, E, k, C, D] = c;
  return "T " + std::to_string(T) + " E " + std::to_string(E) + " k " + std::to_string(k) + " C " +
         std::to_string(C) + " D " + std::to_string(D);
}

// f32 router probabilities of (T, E) random logits; `coarse` puts the logits on a grid of 1/2 (many ties).
Tensor random_probs(int64_t T, int64_t E, Rng& rng, bool coarse) {
  std::vector<double> logits = testing::random_tensor({T, E}, rng, -3, 3).to_doubles();
  if (coarse)
    for (double& v : logits) v = std::round(v * 2) / 2;
  return ops::softmax(Tensor::from_vector(logits, {T, E}, DType::F32));
}

void expect_same_routing(const ExpertRouting& gpu, const ExpertRouting& cpu) {
  EXPECT_EQ(gpu.expert.device(), Device::cuda());
  EXPECT_EQ(gpu.expert.to_doubles(), cpu.expert.to_doubles()) << "expert";
  EXPECT_EQ(gpu.slot.to_doubles(), cpu.slot.to_doubles()) << "slot";
  EXPECT_EQ(gpu.source.to_doubles(), cpu.source.to_doubles()) << "source";
  EXPECT_EQ(gpu.load.to_doubles(), cpu.load.to_doubles()) << "load";
  EXPECT_EQ(gpu.fraction.to_doubles(), cpu.fraction.to_doubles()) << "fraction";
}

TEST(CudaMoe, RoutingMatchesTheCpuExactly) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Rng rng(1);
  // Beyond kCases: k = E, 2048 choices (one whole scan step), many drops, many experts.
  std::vector<Case> cases = kCases;
  cases.insert(cases.end(), {{5, 5, 5, 1, 1}, {1024, 4, 2, 600, 1}, {20000, 64, 1, 100, 1}, {3001, 130, 3, 30, 1}});
  for (const Case& c : cases) {
    const auto& [T, E, k, C, D] = c;
    for (bool coarse : {false, true}) {
      SCOPED_TRACE(describe(c) + (coarse ? " coarse" : ""));
      const Tensor probs = random_probs(T, E, rng, coarse);
      expect_same_routing(ops::route_experts(probs.to(Device::cuda()), k, C), ops::route_experts(probs, k, C));
    }
  }
}

TEST(CudaMoe, RoutingWithNaNMatchesTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Rng rng(2);
  std::vector<double> p = random_probs(50, 6, rng, true).to_doubles();
  for (size_t i = 0; i < p.size(); i += 7) p[i] = std::numeric_limits<double>::quiet_NaN();
  const Tensor probs = Tensor::from_vector(p, {50, 6}, DType::F32);
  expect_same_routing(ops::route_experts(probs.to(Device::cuda()), 3, 20), ops::route_experts(probs, 3, 20));
}

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Runs f on CPU f32 copies of `inputs` and on CUDA copies in `type` (both holding the same type-rounded values),
// backpropagates the same random weights through both, and compares outputs and gradients (the gradients within
// grad_scale times the type's tolerance).
void expect_cuda_matches_cpu(const Fn& f, const std::vector<Tensor>& inputs, DType type, Rng& rng,
                             double grad_scale = 1) {
  std::vector<Tensor> cpu_in, gpu_in;
  for (const Tensor& input : inputs) {
    const Tensor rounded = input.to(type).to(DType::F32);
    cpu_in.push_back(rounded.clone().set_requires_grad(true));
    gpu_in.push_back(rounded.to(type).to(Device::cuda()).set_requires_grad(true));
  }
  const Tensor cpu_out = f(cpu_in);
  const Tensor w = testing::random_tensor(cpu_out.shape(), rng, -1, 1, DType::F32).to(type).to(DType::F32);
  backward(cpu_out, w);
  const Tensor gpu_out = f(gpu_in);
  EXPECT_EQ(gpu_out.dtype(), type);
  backward(gpu_out, w.to(type).to(Device::cuda()));
  const double tol = cuda_testing::tolerance(type);
  cuda_testing::expect_close(gpu_out.to_doubles(), cpu_out.to_doubles(), tol, "forward");
  for (size_t i = 0; i < inputs.size(); ++i)
    cuda_testing::expect_close(gpu_in[i].grad().to_doubles(), cpu_in[i].grad().to_doubles(), grad_scale * tol,
                               "gradient of input " + std::to_string(i));
}

// The routing on the device of in[0]: the CPU and CUDA routings of the same probabilities (identical, as
// RoutingMatchesTheCpuExactly checks).
// softmax's backward reads its saved output, which bf16 rounds by up to 2^-9: y_i * (g_i - sum_j g_j y_j) then
// differs from the f32 gradient by up to about 2^-9 * y_i * max|g|, a few times the bf16 tolerance for the
// gradient's small elements.
double softmax_grad_scale(DType type) { return type == DType::BF16 ? 4 : 1; }

struct Routings {
  ExpertRouting cpu, gpu;
  const ExpertRouting& on(const Tensor& t) const { return t.device().is_cuda() ? gpu : cpu; }
};

Routings route_both(int64_t T, int64_t E, int64_t k, int64_t C, Rng& rng) {
  const Tensor probs = random_probs(T, E, rng, false);
  return {ops::route_experts(probs, k, C), ops::route_experts(probs.to(Device::cuda()), k, C)};
}

TEST(CudaMoe, SoftmaxMatchesTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Rng rng(3);
  for (const Shape& shape : std::vector<Shape>{{1, 1}, {1000, 42}, {20000, 8}, {3, 7, 33}, {2, 5000}}) {
    for (DType type : kTypes) {
      SCOPED_TRACE(shape_str(shape) + " " + dtype_name(type));
      expect_cuda_matches_cpu([](const std::vector<Tensor>& in) { return ops::softmax(in[0]); },
                              {testing::random_tensor(shape, rng, -4, 4, DType::F32)}, type, rng,
                              softmax_grad_scale(type));
    }
  }
}

TEST(CudaMoe, GatesDispatchAndCombineMatchTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Rng rng(4);
  for (const Case& c : kCases) {
    const auto& [T, E, k, C, D] = c;
    const Routings r = route_both(T, E, k, C, rng);
    for (DType type : kTypes) {
      SCOPED_TRACE(describe(c) + " " + dtype_name(type));
      expect_cuda_matches_cpu(
          [&r](const std::vector<Tensor>& in) { return ops::routing_gates(ops::softmax(in[0]), r.on(in[0])); },
          {testing::random_tensor({T, E}, rng, -3, 3, DType::F32)}, type, rng, softmax_grad_scale(type));
      expect_cuda_matches_cpu([&r](const std::vector<Tensor>& in) { return ops::moe_dispatch(in[0], r.on(in[0])); },
                              {testing::random_tensor({T, D}, rng, -2, 2, DType::F32)}, type, rng);
      expect_cuda_matches_cpu(
          [&r](const std::vector<Tensor>& in) { return ops::moe_combine(in[0], in[1], r.on(in[0])); },
          {testing::random_tensor({E, C, D}, rng, -2, 2, DType::F32),
           testing::random_tensor({T, k}, rng, 0, 1, DType::F32)},
          type, rng);
    }
  }
}

TEST(CudaMoe, IsDeterministic) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Rng rng(5);
  const int64_t T = 3000, E = 16, k = 2, C = 400, D = 769;
  const Routings r = route_both(T, E, k, C, rng);
  const Tensor y = testing::random_tensor({E, C, D}, rng, -2, 2, DType::F32).to(Device::cuda());
  const Tensor gates = testing::random_tensor({T, k}, rng, 0, 1, DType::F32).to(Device::cuda());
  const Tensor w = testing::random_tensor({T, D}, rng, -1, 1, DType::F32).to(Device::cuda());
  std::vector<std::vector<double>> runs;
  for (int run = 0; run < 2; ++run) {
    Tensor ly = y.clone().set_requires_grad(true), lg = gates.clone().set_requires_grad(true);
    backward(ops::moe_combine(ly, lg, r.gpu), w);
    runs.push_back(lg.grad().to_doubles());
  }
  EXPECT_EQ(runs[0], runs[1]);
}

}  // namespace
}  // namespace krait
