// train/bench_attention.cu — `krait bench attention [--shape B,L,H,Dh]`: times the CUDA causal attention
// (kernels/cuda/attention.h) in bf16 — forward, backward, forward + backward; the median of 20 runs after
// 3 warm-ups, each timed with CUDA events — at Transformer++ shapes, and prints a markdown table with
// TFLOP/s counted the way FlashAttention's benchmarks count them (tools/bench/sdpa.py times PyTorch's
// scaled_dot_product_attention at the same shapes with the same count):
//   forward  = 4 B H L^2 Dh / 2   (S = Q K^T and O = P V, 2 L^2 Dh each, halved by the causal mask)
//   backward = 2.5 x forward      (dV, dP, dQ, dK and the recomputed S: 5 products of the same size)
// Krait's backward computes S and dP twice (no atomics: the dQ pass recomputes them), 7 products, but is
// credited with the same 5.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/check.h"
#include "train/bench_cuda.cuh"

namespace krait::train {
namespace {

namespace kc = krait::kernels::cuda;
using bench::device_alloc;
using bench::median_ms;
using bf16 = __nv_bfloat16;

struct AttentionShape {
  int64_t batch, length, heads, head_dim;
};

// Uniform in [lo, hi) from a hash of (seed, i): reproducible data made on the device.
__global__ void fill_uniform_bf16(bf16* dst, int64_t n, uint64_t seed, float lo, float hi) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull ^ uint64_t(i) * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 29;
    dst[i] = __float2bfloat16(lo + (hi - lo) * float(x >> 40) * 0x1.0p-24f);
  }
}

struct Row {
  AttentionShape shape;
  double fwd_ms, bwd_ms, fwd_bwd_ms;
};

Row run_shape(const AttentionShape& s) {
  const int64_t rows = s.batch * s.length, width = s.heads * s.head_dim;
  auto* qkv = static_cast<bf16*>(device_alloc(rows * 3 * width * sizeof(bf16)));
  auto* out = static_cast<bf16*>(device_alloc(rows * width * sizeof(bf16)));
  auto* grad_out = static_cast<bf16*>(device_alloc(rows * width * sizeof(bf16)));
  auto* grad_qkv = static_cast<bf16*>(device_alloc(rows * 3 * width * sizeof(bf16)));
  auto* lse = static_cast<float*>(device_alloc(s.batch * s.heads * s.length * sizeof(float)));
  void* workspace = device_alloc(kc::causal_attention_backward_workspace_bytes(s.batch, s.length, s.heads));
  fill_uniform_bf16<<<4096, 256>>>(qkv, rows * 3 * width, 1, -2.0f, 2.0f);
  fill_uniform_bf16<<<4096, 256>>>(grad_out, rows * width, 2, -1.0f, 1.0f);
  KRAIT_CUDA_CHECK_LAUNCH("bench attention fill_uniform_bf16");
  const auto forward = [&] {
    kc::causal_attention_forward(qkv, DType::BF16, out, lse, s.batch, s.length, s.heads, s.head_dim, nullptr);
  };
  const auto backward = [&] {
    kc::causal_attention_backward(qkv, out, lse, grad_out, DType::BF16, grad_qkv, workspace, s.batch, s.length,
                                  s.heads, s.head_dim, nullptr);
  };
  Row row{s, median_ms(forward), 0, 0};
  row.bwd_ms = median_ms(backward);
  row.fwd_bwd_ms = median_ms([&] {
    forward();
    backward();
  });
  for (void* p : {static_cast<void*>(qkv), static_cast<void*>(out), static_cast<void*>(grad_out),
                  static_cast<void*>(grad_qkv), static_cast<void*>(lse), workspace})
    KRAIT_CUDA_CHECK(cudaFree(p));
  return row;
}

// Forward FLOPs of causal attention (see the file comment).
double forward_flops(const AttentionShape& s) {
  return 4.0 * double(s.batch) * double(s.heads) * double(s.length) * double(s.length) * double(s.head_dim) / 2.0;
}

AttentionShape parse_shape(const std::string& text) {
  AttentionShape s{};
  char c1 = 0, c2 = 0, c3 = 0;
  std::istringstream in(text);
  in >> s.batch >> c1 >> s.length >> c2 >> s.heads >> c3 >> s.head_dim;
  KRAIT_CHECK(in && in.peek() == EOF && c1 == ',' && c2 == ',' && c3 == ',' && s.batch > 0 && s.length > 0 &&
                  s.heads > 0 && s.head_dim > 0,
              "bench attention: --shape wants B,L,H,Dh (four positive integers), got '", text, "'");
  return s;
}

}  // namespace

// Declared in train/bench.h (C++20, not included here: CUDA files build as C++17).
int bench_attention(const std::string& shape) {
  int device = 0;
  KRAIT_CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop;
  KRAIT_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  // The 125M Transformer++ (12 heads of 64), a wide-head 4K shape, and long sequences.
  std::vector<AttentionShape> shapes = {{8, 2048, 12, 64}, {4, 4096, 16, 128}, {2, 8192, 16, 128}, {1, 16384, 16, 64}};
  if (!shape.empty()) shapes = {parse_shape(shape)};
  std::vector<Row> rows;
  for (const AttentionShape& s : shapes) {
    rows.push_back(run_shape(s));
    const Row& r = rows.back();
    std::printf("(%lld, %lld, %lld, %lld): fwd %.3f ms, bwd %.3f ms, fwd+bwd %.3f ms%s\n", (long long)s.batch,
                (long long)s.length, (long long)s.heads, (long long)s.head_dim, r.fwd_ms, r.bwd_ms, r.fwd_bwd_ms,
                kc::causal_attention_uses_tensor_cores(DType::BF16, s.head_dim) ? "" : " (generic kernels)");
  }
  std::printf("\n%s, bf16 causal attention, median of %d runs; TFLOP/s: fwd 4 B H L^2 Dh / 2, bwd 2.5 x fwd\n\n",
              prop.name, bench::kBenchIterations);
  std::printf("| (B, L, H, Dh) | fwd ms | fwd TFLOP/s | bwd ms | bwd TFLOP/s | fwd+bwd ms | fwd+bwd TFLOP/s |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    const double f = forward_flops(r.shape);
    std::printf("| (%lld, %lld, %lld, %lld) | %.3f | %.1f | %.3f | %.1f | %.3f | %.1f |\n", (long long)r.shape.batch,
                (long long)r.shape.length, (long long)r.shape.heads, (long long)r.shape.head_dim, r.fwd_ms,
                f / (r.fwd_ms * 1e9), r.bwd_ms, 2.5 * f / (r.bwd_ms * 1e9), r.fwd_bwd_ms,
                3.5 * f / (r.fwd_bwd_ms * 1e9));
  }
  return 0;
}

}  // namespace krait::train
