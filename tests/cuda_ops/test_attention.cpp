// The CUDA causal attention against cpu::causal_attention_* run in double on the same rounded inputs:
// the tensor-core path (bf16, head_dim 64 and 128) and the generic one (f32 anywhere, bf16 at other
// head sizes) at lengths around and between their 32-, 64- and 128-row blocks, forward (out and lse) and
// backward; one long forward; the backward repeats bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/cpu/attention.h"
#include "kernels/cuda/attention.h"
#include "tests/cuda_ops/cuda_test_util.h"

namespace krait::kernels::cuda {
namespace {

using testing::DeviceBuffer;

struct Case {
  int64_t batch, length, heads, head_dim;
  DType type;
};

std::string label(const Case& c) {
  return std::string(dtype_name(c.type)) + " B " + std::to_string(c.batch) + " L " + std::to_string(c.length) +
         " H " + std::to_string(c.heads) + " Dh " + std::to_string(c.head_dim) +
         (causal_attention_uses_tensor_cores(c.type, c.head_dim) ? " (tensor cores)" : " (generic)");
}

// Relative tolerances (of |want| + rms(want)): f32 differs from the f64 reference by rounding in long sums;
// bf16 results carry 8 bits of mantissa. The tensor-core backward also rounds P and dS to bf16 before
// dV = P^T dO, dK = dS^T Q and dQ = dS K: an error of ~2^-9 P per term, largest on the first keys, which
// early queries weight by up to 1 while the gradients' rms is set by the many later keys of small weight
// (seen on an H200: up to 3% of the rms at L = 1030, Dh = 128; the generic bf16 path stays under 2%).
double out_rtol(DType type) { return type == DType::BF16 ? 2e-2 : 5e-5; }
double grad_rtol(const Case& c) {
  if (c.type == DType::F32) return 1e-4;
  return causal_attention_uses_tensor_cores(c.type, c.head_dim) ? 4e-2 : 2e-2;
}

void check_case(const Case& c, Rng& rng, bool backward) {
  const std::string what = label(c);
  const int64_t rows = c.batch * c.length, width = c.heads * c.head_dim;
  const int64_t n_out = rows * width, n_qkv = 3 * n_out, n_lse = c.batch * c.heads * c.length;
  const std::vector<double> values = testing::random_values(rng, n_qkv, -2, 2, c.type);
  std::vector<double> want_out(n_out), want_lse(n_lse);
  cpu::causal_attention_forward(values.data(), want_out.data(), want_lse.data(), c.batch, c.length, c.heads,
                                c.head_dim);
  const DeviceBuffer qkv = testing::upload(values, c.type);
  DeviceBuffer out(n_out * dtype_size(c.type)), lse(n_lse * sizeof(float));
  causal_attention_forward(qkv.get(), c.type, out.get(), lse.as<float>(), c.batch, c.length, c.heads, c.head_dim,
                           nullptr);
  const std::vector<double> got_out = testing::download(out, c.type, n_out);
  testing::expect_close(got_out, want_out, out_rtol(c.type), what + " out");
  testing::expect_close(testing::download(lse, DType::F32, n_lse), want_lse, 5e-5, what + " lse");
  if (!backward) return;

  // The backward's contract is the gradient given the forward's output: the reference gets the device's
  // (bf16-rounded) out too, as D = rowsum(dO * O) is sensitive to its rounding (up to ~2% of dQ's scale).
  const std::vector<double> values_grad_out = testing::random_values(rng, n_out, -1, 1, c.type);
  std::vector<double> want_grad(n_qkv);
  cpu::causal_attention_backward(values.data(), got_out.data(), want_lse.data(), values_grad_out.data(),
                                 want_grad.data(), c.batch, c.length, c.heads, c.head_dim);
  const DeviceBuffer grad_out = testing::upload(values_grad_out, c.type);
  DeviceBuffer grad_qkv(n_qkv * dtype_size(c.type)), grad_qkv2(n_qkv * dtype_size(c.type)),
      workspace(causal_attention_backward_workspace_bytes(c.batch, c.length, c.heads));
  for (DeviceBuffer* grad : {&grad_qkv, &grad_qkv2})
    causal_attention_backward(qkv.get(), out.get(), lse.as<float>(), grad_out.get(), c.type, grad->get(),
                              workspace.get(), c.batch, c.length, c.heads, c.head_dim, nullptr);
  const std::vector<double> got = testing::download(grad_qkv, c.type, n_qkv);
  testing::expect_close(got, want_grad, grad_rtol(c), what + " grad_qkv");
  // Each of dQ, dK and dV against its own scale too (the interleaved last axis split into the three parts),
  // except where it is zero (L = 1: dQ and dK are rounding noise around 0).
  for (int part = 0; part < 3; ++part) {
    std::vector<double> got_part, want_part;
    for (int64_t row = 0; row < rows; ++row)
      for (int64_t i = 0; i < width; ++i) {
        got_part.push_back(got[(row * 3 + part) * width + i]);
        want_part.push_back(want_grad[(row * 3 + part) * width + i]);
      }
    if (std::any_of(want_part.begin(), want_part.end(), [](double v) { return v != 0; }))
      testing::expect_close(got_part, want_part, grad_rtol(c), what + " grad " + "qkv"[part]);
  }
  testing::expect_bit_identical(grad_qkv, grad_qkv2, what + " grad_qkv");
}

TEST(CudaAttention, MatchesCpu) {
  KRAIT_REQUIRE_GPU();
  Rng rng(51);
  int index = 0;
  for (const DType type : {DType::BF16, DType::F32})
    for (const int64_t head_dim : {16, 24, 64, 128})
      for (const int64_t length : {1, 7, 64, 65, 127, 300, 1030}) {
        // Heads and batch alternate so that every length meets both values of each.
        const Case c{index % 2 ? 2 : 1, length, (index / 2) % 2 ? 3 : 1, head_dim, type};
        ++index;
        check_case(c, rng, true);
      }
}

TEST(CudaAttention, LongForward) {
  KRAIT_REQUIRE_GPU();
  Rng rng(52);
  check_case({1, 4096, 2, 64, DType::BF16}, rng, false);
}

TEST(CudaAttention, BackwardIsDeterministic) {
  KRAIT_REQUIRE_GPU();
  Rng rng(53);
  // check_case runs the backward twice and compares the bytes; here at sizes with many blocks per head.
  check_case({2, 1000, 3, 128, DType::BF16}, rng, true);
  check_case({2, 333, 2, 40, DType::F32}, rng, true);
}

TEST(CudaAttention, Errors) {
  KRAIT_REQUIRE_GPU();
  DeviceBuffer buffer(1024);
  try {
    causal_attention_forward(buffer.get(), DType::F64, buffer.get(), buffer.as<float>(), 1, 2, 1, 4, nullptr);
    ADD_FAILURE() << "expected a krait::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f64"), std::string::npos) << e.what();
  }
  try {
    causal_attention_forward(buffer.get(), DType::BF16, buffer.get(), buffer.as<float>(), 1, 2, 1, 300, nullptr);
    ADD_FAILURE() << "expected a krait::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head_dim 300"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace krait::kernels::cuda
