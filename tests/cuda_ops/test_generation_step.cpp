// The CUDA kernels of recurrent generation against the CPU references run in double on the same
// rounded inputs, through the ops: causal_conv1d_step (widths 1 to 16, x read as columns of a wider
// row), selective_scan_step (state sizes around the lane groups, channel counts that leave partial
// blocks, input-dependent and per-channel B and C, with and without delta and the gate, delta from
// delta_proj at ranks around the lane groups, batches wide enough to take fewer lanes), and the
// stateful scan continuing from a state over pieces long enough to be split in chunks, which must end
// in the state the CPU reaches; argmax_rows over vocabulary-sized rows with planted ties and NaN.
// f32 and bf16 activations; states are f32.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/ops.h"
#include "autograd/tape.h"
#include "tests/cuda_ops/cuda_test_util.h"

namespace krait {
namespace {

using kernels::cuda::testing::expect_close;
using kernels::cuda::testing::tolerance;

// A tensor of uniform values in [lo, hi) that `type` holds exactly, as f64 on the CPU.
Tensor random_tensor(Rng& rng, const Shape& shape, double lo, double hi, DType type) {
  return Tensor::from_vector(kernels::cuda::testing::random_values(rng, shape_numel(shape), lo, hi, type), shape,
                             DType::F64);
}
Tensor on_gpu(const Tensor& t, DType type) { return t.defined() ? t.to(type).to(Device::cuda()) : Tensor(); }
std::vector<double> values(const Tensor& t) { return t.to(Device::cpu()).to_doubles(); }

TEST(CudaGenerationStep, ConvStepMatchesCpu) {
  KRAIT_REQUIRE_GPU();
  NoGradGuard no_grad;
  Rng rng(5);
  for (const DType type : {DType::F32, DType::BF16})
    for (const int64_t width : {1, 2, 4, 5, 16})
      for (const bool bias : {true, false}) {
        const std::string what = std::string(dtype_name(type)) + " width " + std::to_string(width) +
                                 (bias ? " bias" : "");
        const int64_t batch = 3, channels = 37, offset = 5;
        const Tensor row = random_tensor(rng, {batch, offset + channels + 2}, -2, 2, type);
        Tensor window = random_tensor(rng, {batch, channels, width - 1}, -2, 2, type);
        const Tensor weight = random_tensor(rng, {channels, width}, -0.6, 0.6, DType::F32);
        const Tensor b = bias ? random_tensor(rng, {channels}, -1, 1, DType::F32) : Tensor();
        const Tensor gpu_window = on_gpu(window, type);
        const Tensor gpu_out = ops::causal_conv1d_step({on_gpu(row, type), offset}, gpu_window, on_gpu(weight, DType::F32),
                                                       on_gpu(b, DType::F32), true);
        const Tensor cpu_out = ops::causal_conv1d_step({row, offset}, window, weight, b, true);
        expect_close(values(gpu_out), cpu_out.to_doubles(), tolerance(type), what + ": out");
        expect_close(values(gpu_window), window.to_doubles(), 0, what + ": window");
      }
}

TEST(CudaGenerationStep, ScanStepMatchesCpu) {
  KRAIT_REQUIRE_GPU();
  NoGradGuard no_grad;
  Rng rng(6);
  struct Case {
    int64_t batch, dim, state;
    bool variable, delta, gate;
    int64_t rank = 0;  // > 0: delta through delta_proj (dt_proj fused)
  };
  const Case cases[] = {{1, 1, 1, true, true, true},        {3, 37, 3, true, true, true},
                        {2, 33, 16, true, true, true},      {2, 70, 17, false, true, true},
                        {1, 9, 40, true, false, true},      {2, 5, 256, true, true, false},
                        {4, 130, 16, false, false, false},  {2, 70, 16, true, true, true, 48},
                        {3, 33, 4, true, true, true, 1},    {1, 40, 16, false, true, true, 37},
                        // batches wide enough for fewer lanes per channel (one, then two), N past a chunk
                        {64, 1536, 16, true, true, true, 48}, {4, 9000, 16, true, true, true, 5},
                        {40, 1000, 17, false, true, true}};
  for (const DType type : {DType::F32, DType::BF16})
    for (const Case& c : cases) {
      const std::string what = std::string(dtype_name(type)) + " batch " + std::to_string(c.batch) + " dim " +
                               std::to_string(c.dim) + " state " + std::to_string(c.state) +
                               (c.variable ? " input-dependent B, C" : " per-channel B, C") +
                               (c.delta ? "" : " no delta") + (c.gate ? "" : " no gate") +
                               (c.rank ? " delta_proj rank " + std::to_string(c.rank) : "");
      const int64_t D = c.dim, N = c.state;
      // u, delta, z in one row, and B, C after 3 other columns, as parts of projections.
      const Tensor udz = random_tensor(rng, {c.batch, 3 * D}, -1, 1, type);
      const Tensor bc = c.variable ? random_tensor(rng, {c.batch, 3 + 2 * N}, -1, 1, type) : Tensor();
      const Tensor B = c.variable ? bc : random_tensor(rng, {D, N}, -1, 1, type);
      const Tensor C = c.variable ? bc : random_tensor(rng, {D, N}, -1, 1, type);
      const Tensor A = random_tensor(rng, {D, N}, -2, -0.1, DType::F32);
      const Tensor D_skip = random_tensor(rng, {D}, -1, 1, DType::F32);
      const Tensor bias = random_tensor(rng, {D}, -3, 0.5, DType::F32);
      Tensor state = random_tensor(rng, {c.batch, D, N}, -1, 1, DType::F32);
      const Tensor low_rank = c.rank ? random_tensor(rng, {c.batch, 2 + c.rank}, -1, 1, type) : Tensor();
      const Tensor delta_proj = c.rank ? random_tensor(rng, {D, c.rank}, -0.5, 0.5, type) : Tensor();
      const auto inputs = [&](const auto& put) {
        ops::ScanStepInputs in;
        in.u = {put(udz, type), 0};
        if (c.rank) in.delta = {put(low_rank, type), 2}, in.delta_proj = put(delta_proj, type);
        else if (c.delta) in.delta = {put(udz, type), D};
        if (c.gate) in.z = {put(udz, type), 2 * D};
        in.B_variable = in.C_variable = c.variable;
        in.B = {put(B, type), c.variable ? 3 : 0};
        in.C = {put(C, type), c.variable ? 3 + N : 0};
        in.A = put(A, DType::F32), in.D_skip = put(D_skip, DType::F32), in.delta_bias = put(bias, DType::F32);
        in.delta_softplus = true;
        return in;
      };
      const Tensor gpu_state = on_gpu(state, DType::F32);
      const Tensor gpu_out = ops::selective_scan_step(inputs(on_gpu), gpu_state);
      const Tensor cpu_out = ops::selective_scan_step(inputs([](const Tensor& t, DType) { return t; }), state);
      expect_close(values(gpu_out), cpu_out.to_doubles(), tolerance(type), what + ": y");
      expect_close(values(gpu_state), state.to_doubles(), 1e-5, what + ": state");
    }
}

// A long prompt's prefill in pieces from a random state: a single-chunk piece, a one-step piece and a
// piece over many chunks (initial and final state in one buffer, read and written by different blocks).
TEST(CudaGenerationStep, StatefulScanInPiecesMatchesCpu) {
  KRAIT_REQUIRE_GPU();
  NoGradGuard no_grad;
  Rng rng(7);
  for (const DType type : {DType::F32, DType::BF16})
    for (const bool variable : {true, false}) {
      const std::string what = std::string(dtype_name(type)) + (variable ? " input-dependent" : " per-channel");
      const int64_t batch = 2, D = 5, L = 3001, N = 16;
      ops::ScanInputs in;
      in.u = random_tensor(rng, {batch, D, L}, -1, 1, type), in.delta = random_tensor(rng, {batch, D, L}, -3, 0, type);
      in.z = random_tensor(rng, {batch, D, L}, -1, 1, type);
      in.A = random_tensor(rng, {D, N}, -2, -0.1, DType::F32);
      const Shape bc = variable ? Shape{batch, N, L} : Shape{D, N};
      in.B = random_tensor(rng, bc, -1, 1, type), in.C = random_tensor(rng, bc, -1, 1, type);
      in.D_skip = random_tensor(rng, {D}, -1, 1, DType::F32), in.delta_bias = random_tensor(rng, {D}, -1, 0.5, DType::F32);
      in.delta_softplus = true;
      const Tensor start = random_tensor(rng, {batch, D, N}, -1, 1, DType::F32);
      const auto piece = [&](const ops::ScanInputs& full, int64_t begin, int64_t end) {
        ops::ScanInputs p = full;
        for (Tensor* t : {&p.u, &p.delta, &p.z}) *t = ops::slice(*t, 2, begin, end);
        if (variable)
          for (Tensor* t : {&p.B, &p.C}) *t = ops::slice(*t, 2, begin, end);
        return p;
      };
      ops::ScanInputs gpu_in = in;
      for (Tensor* t : {&gpu_in.u, &gpu_in.delta, &gpu_in.z, &gpu_in.B, &gpu_in.C}) *t = on_gpu(*t, type);
      for (Tensor* t : {&gpu_in.A, &gpu_in.D_skip, &gpu_in.delta_bias}) *t = on_gpu(*t, DType::F32);
      Tensor cpu_state = start.clone();
      const Tensor gpu_state = on_gpu(start, DType::F32);
      for (const auto& [begin, end] : {std::pair<int64_t, int64_t>{0, 100}, {100, 101}, {101, L}}) {
        const std::string part = what + " steps " + std::to_string(begin) + ".." + std::to_string(end);
        const Tensor gpu_out = ops::selective_scan_stateful(piece(gpu_in, begin, end), gpu_state);
        const Tensor cpu_out = ops::selective_scan_stateful(piece(in, begin, end), cpu_state);
        expect_close(values(gpu_out), cpu_out.to_doubles(), type == DType::BF16 ? 2 * tolerance(type) : 2e-5,
                     part + ": y");
        expect_close(values(gpu_state), cpu_state.to_doubles(), 2e-5, part + ": state");
      }
    }
}

TEST(CudaGenerationStep, ArgmaxMatchesCpu) {
  KRAIT_REQUIRE_GPU();
  Rng rng(8);
  for (const DType type : {DType::F32, DType::BF16})
    for (const auto& [rows, columns, width] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {3, 300, 257},
                                              {64, 50288, 50277}, {5, 1000, 1000}}) {
      const std::string what = std::string(dtype_name(type)) + " " + std::to_string(rows) + " x " +
                               std::to_string(columns) + " width " + std::to_string(width);
      std::vector<double> x = kernels::cuda::testing::random_values(rng, rows * columns, -4, 4, type);
      for (int64_t r = 0; r < rows; ++r) {
        double* row = x.data() + r * columns;
        if (r % 2 == 0) row[width - 1] = row[width / 3] = 9;  // a tie: the lower index wins
        if (r % 3 == 1) row[0] = std::nan("");                // NaN never wins
        if (width < columns) row[columns - 1] = 100;          // past the width: never drawn
      }
      const Tensor cpu = Tensor::from_vector(x, {rows, columns}, DType::F64);
      const Tensor want = ops::argmax_rows(cpu, width), got = ops::argmax_rows(on_gpu(cpu, type), width);
      expect_close(values(got), want.to_doubles(), 0, what);
    }
}

}  // namespace
}  // namespace krait
