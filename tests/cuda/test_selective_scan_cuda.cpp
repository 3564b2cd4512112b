// tests/cuda/test_selective_scan_cuda.cpp — the CUDA selective scan (kernels/cuda/selective_scan.h)
// against the CPU reference run in double precision: forward and every gradient, f32 and bf16 inputs,
// awkward sizes (L around tile and chunk edges, D not a multiple of 32, N from 1 to 256), each
// optional input on and off, and bit-identical gradients from two backward runs. Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "common/rng.h"
#include "kernels/bf16.h"
#include "kernels/cpu/selective_scan.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/selective_scan.h"

namespace krait {
namespace {

namespace kc = kernels::cuda;

struct Case {
  int64_t batch, dim, len, state;
  bool B_variable, C_variable, has_D, has_z, has_bias, softplus;
};

std::string describe(const Case& c) {
  return "(B=" + std::to_string(c.batch) + " D=" + std::to_string(c.dim) + " L=" + std::to_string(c.len) +
         " N=" + std::to_string(c.state) + (c.B_variable ? " Bvar" : " Bconst") + (c.C_variable ? " Cvar" : " Cconst") +
         (c.has_D ? " D" : "") + (c.has_z ? " z" : "") + (c.has_bias ? " bias" : "") + (c.softplus ? " softplus" : "") +
         ")";
}

// A device buffer freed on scope exit.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes > 0) KRAIT_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
  }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(DeviceBuffer&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(other.bytes_) {}
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }
  // Every byte 0xff: NaN in f32 and bf16, so an element the kernel fails to write shows.
  void poison() const {
    if (bytes_ > 0) KRAIT_CUDA_CHECK(cudaMemset(ptr_, 0xff, bytes_));
  }
  std::vector<unsigned char> bytes_on_host() const {
    std::vector<unsigned char> out(bytes_);
    if (bytes_ > 0) KRAIT_CUDA_CHECK(cudaMemcpy(out.data(), ptr_, bytes_, cudaMemcpyDeviceToHost));
    return out;
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_;
};

// Element type T on the host: float, or bf16 with the same bits as __nv_bfloat16.
template <typename T> using HostType = std::conditional_t<std::is_same_v<T, float>, float, bf16>;

template <typename T> double round_to(double v) { return double(float(HostType<T>(float(v)))); }

template <typename T> DeviceBuffer upload(const std::vector<double>& v) {
  std::vector<HostType<T>> host(v.size());
  for (size_t i = 0; i < v.size(); ++i) host[i] = HostType<T>(float(v[i]));
  DeviceBuffer buf(host.size() * sizeof(T));
  if (!host.empty()) KRAIT_CUDA_CHECK(cudaMemcpy(buf.as<void>(), host.data(), buf.bytes(), cudaMemcpyHostToDevice));
  return buf;
}

template <typename T> std::vector<double> download(const DeviceBuffer& buf) {
  std::vector<HostType<T>> host(buf.bytes() / sizeof(T));
  if (!host.empty()) KRAIT_CUDA_CHECK(cudaMemcpy(host.data(), buf.as<void>(), buf.bytes(), cudaMemcpyDeviceToHost));
  std::vector<double> out(host.size());
  for (size_t i = 0; i < host.size(); ++i) out[i] = double(float(host[i]));
  return out;
}

// ‖got − want‖ / ‖want‖; infinite when got holds a NaN or an infinity.
double relative_error(const std::vector<double>& got, const std::vector<double>& want) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    diff += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

// The inputs in double, already rounded to T where the device reads T (A, D, delta_bias are f32).
struct Inputs {
  std::vector<double> u, delta, A, B, C, D, z, bias, grad_out;
};

template <typename T> Inputs make_inputs(const Case& c, uint64_t seed) {
  Rng rng(seed);
  const int64_t bdl = c.batch * c.dim * c.len;
  const int64_t b_size = c.B_variable ? c.batch * c.state * c.len : c.dim * c.state;
  const int64_t c_size = c.C_variable ? c.batch * c.state * c.len : c.dim * c.state;
  const auto fill = [&](int64_t n, auto draw, bool in_T) {
    std::vector<double> v(n);
    for (auto& x : v) x = in_T ? round_to<T>(draw()) : double(float(draw()));
    return v;
  };
  Inputs in;
  in.u = fill(bdl, [&] { return rng.normal(); }, true);
  // Δ between about 0.001 and 0.3 either way: through softplus, or given directly.
  in.delta = fill(bdl, [&] { return c.softplus ? rng.uniform(-6.0, -1.0) : rng.uniform(0.001, 0.3); }, true);
  in.A = fill(c.dim * c.state, [&] { return -std::exp(rng.uniform(std::log(0.05), std::log(8.0))); }, false);
  in.B = fill(b_size, [&] { return rng.normal(); }, true);
  in.C = fill(c_size, [&] { return rng.normal(); }, true);
  if (c.has_D) in.D = fill(c.dim, [&] { return rng.normal(); }, false);
  if (c.has_z) in.z = fill(bdl, [&] { return rng.normal(); }, true);
  // Without softplus a negative Δ would make the states grow without bound: keep the bias small and positive.
  if (c.has_bias) in.bias = fill(c.dim, [&] { return c.softplus ? rng.uniform(-0.5, 0.5) : rng.uniform(0.0, 0.05); }, false);
  in.grad_out = fill(bdl, [&] { return rng.normal(); }, true);
  return in;
}

struct Results {
  std::vector<double> out, du, ddelta, dA, dB, dC, dD, dz, dbias;
};

Results reference(const Case& c, const Inputs& in) {
  kernels::cpu::ScanProblem<double> p;
  p.batch = c.batch;
  p.dim = c.dim;
  p.len = c.len;
  p.state = c.state;
  p.u = in.u.data();
  p.delta = in.delta.data();
  p.A = in.A.data();
  p.B = in.B.data();
  p.C = in.C.data();
  p.D_skip = c.has_D ? in.D.data() : nullptr;
  p.z = c.has_z ? in.z.data() : nullptr;
  p.delta_bias = c.has_bias ? in.bias.data() : nullptr;
  p.B_variable = c.B_variable;
  p.C_variable = c.C_variable;
  p.delta_softplus = c.softplus;
  Results r;
  r.out.resize(in.u.size());
  kernels::cpu::selective_scan_forward(p, r.out.data());
  r.du.resize(in.u.size());
  r.ddelta.resize(in.u.size());
  r.dA.resize(in.A.size());
  r.dB.resize(in.B.size());
  r.dC.resize(in.C.size());
  r.dD.resize(in.D.size());
  r.dz.resize(in.z.size());
  r.dbias.resize(in.bias.size());
  kernels::cpu::ScanGrads<double> g{r.du.data(), r.ddelta.data(), r.dA.data(), r.dB.data(),
                                    r.dC.data(), r.dD.data(),     r.dz.data(),  r.dbias.data()};
  kernels::cpu::selective_scan_backward(p, in.grad_out.data(), g);
  return r;
}

// Runs the device forward and backward twice on one set of inputs; checks against the reference
// (relative error under out_tol for out, grad_tol for every gradient) and that the two backward
// runs agree bit for bit.
template <typename T> void check_case(const Case& c, double out_tol, double grad_tol, uint64_t seed) {
  SCOPED_TRACE(describe(c) + (std::is_same_v<T, float> ? " f32" : " bf16"));
  const Inputs in = make_inputs<T>(c, seed);
  const Results want = reference(c, in);

  const DeviceBuffer u = upload<T>(in.u), delta = upload<T>(in.delta), A = upload<float>(in.A),
                     B = upload<T>(in.B), C = upload<T>(in.C), D = upload<float>(in.D), z = upload<T>(in.z),
                     bias = upload<float>(in.bias), grad_out = upload<T>(in.grad_out);
  kc::ScanProblem<T> p;
  p.batch = c.batch;
  p.dim = c.dim;
  p.len = c.len;
  p.state = c.state;
  p.u = u.as<T>();
  p.delta = delta.as<T>();
  p.A = A.as<float>();
  p.B = B.as<T>();
  p.C = C.as<T>();
  p.D_skip = c.has_D ? D.as<float>() : nullptr;
  p.z = c.has_z ? z.as<T>() : nullptr;
  p.delta_bias = c.has_bias ? bias.as<float>() : nullptr;
  p.B_variable = c.B_variable;
  p.C_variable = c.C_variable;
  p.delta_softplus = c.softplus;

  const kc::ScanBuffers sizes = kc::selective_scan_buffers(p);
  const DeviceBuffer saved(sizes.saved_states), fwd_ws(sizes.forward_workspace), bwd_ws(sizes.backward_workspace);
  const DeviceBuffer out(in.u.size() * sizeof(T)), du(in.u.size() * sizeof(T)), ddelta(in.u.size() * sizeof(T)),
      dA(in.A.size() * sizeof(float)), dB(in.B.size() * sizeof(T)), dC(in.C.size() * sizeof(T)),
      dD(in.D.size() * sizeof(float)), dz(in.z.size() * sizeof(T)), dbias(in.bias.size() * sizeof(float));
  const DeviceBuffer* grads[] = {&du, &ddelta, &dA, &dB, &dC, &dD, &dz, &dbias};
  kc::ScanGrads<T> g{du.as<T>(), ddelta.as<T>(), dA.as<float>(), dB.as<T>(),
                     dC.as<T>(), dD.as<float>(), dz.as<T>(),     dbias.as<float>()};

  for (const DeviceBuffer* buf : {&out, &saved, &fwd_ws, &bwd_ws}) buf->poison();
  for (const DeviceBuffer* buf : grads) buf->poison();
  kc::selective_scan_forward(p, out.as<T>(), saved.as<float>(), fwd_ws.as<void>(), nullptr);
  kc::selective_scan_backward(p, grad_out.as<T>(), saved.as<float>(), g, bwd_ws.as<void>(), nullptr);
  KRAIT_CUDA_CHECK(cudaDeviceSynchronize());

  std::string errors;
  const auto expect_close = [&](const char* name, double err, double tol) {
    char text[48];
    std::snprintf(text, sizeof text, " %s %.1e", name, err);
    errors += text;
    EXPECT_LT(err, tol) << name;
  };
  expect_close("out", relative_error(download<T>(out), want.out), out_tol);
  expect_close("du", relative_error(download<T>(du), want.du), grad_tol);
  expect_close("ddelta", relative_error(download<T>(ddelta), want.ddelta), grad_tol);
  expect_close("dA", relative_error(download<float>(dA), want.dA), grad_tol);
  expect_close("dB", relative_error(download<T>(dB), want.dB), grad_tol);
  expect_close("dC", relative_error(download<T>(dC), want.dC), grad_tol);
  if (c.has_D) expect_close("dD", relative_error(download<float>(dD), want.dD), grad_tol);
  if (c.has_z) expect_close("dz", relative_error(download<T>(dz), want.dz), grad_tol);
  if (c.has_bias) expect_close("ddelta_bias", relative_error(download<float>(dbias), want.dbias), grad_tol);
  std::printf("%s %s relative errors:%s\n", describe(c).c_str(), std::is_same_v<T, float> ? "f32" : "bf16",
              errors.c_str());

  // Deterministic: a second backward, over poisoned buffers, gives the same bits.
  std::vector<std::vector<unsigned char>> first;
  for (const DeviceBuffer* buf : grads) first.push_back(buf->bytes_on_host());
  for (const DeviceBuffer* buf : grads) buf->poison();
  bwd_ws.poison();
  kc::selective_scan_backward(p, grad_out.as<T>(), saved.as<float>(), g, bwd_ws.as<void>(), nullptr);
  KRAIT_CUDA_CHECK(cudaDeviceSynchronize());
  const char* names[] = {"du", "ddelta", "dA", "dB", "dC", "dD", "dz", "ddelta_bias"};
  for (size_t i = 0; i < first.size(); ++i) EXPECT_TRUE(first[i] == grads[i]->bytes_on_host()) << names[i];
}

class SelectiveScanCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kc::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  }
};

// f32 inputs: the device computes in f32 what the reference computes in f64; 1e-4 leaves room for
// f32 rounding and the SFU's 2^x (relative error about 2^-22) accumulated over long recurrences.
constexpr double kF32Tol = 1e-4;

TEST_F(SelectiveScanCuda, F32SingleStep) {
  check_case<float>({2, 37, 1, 16, true, true, true, true, true, true}, kF32Tol, kF32Tol, 1);
}

TEST_F(SelectiveScanCuda, F32ShortNoOptionals) {
  check_case<float>({1, 37, 7, 1, false, true, false, false, false, false}, kF32Tol, kF32Tol, 2);
  check_case<float>({3, 5, 7, 16, true, false, true, false, true, true}, kF32Tol, kF32Tol, 3);
}

TEST_F(SelectiveScanCuda, F32TileEdges) {
  check_case<float>({3, 37, 2047, 16, true, true, true, true, true, true}, kF32Tol, kF32Tol, 4);
  check_case<float>({2, 37, 2049, 16, false, false, true, true, false, true}, kF32Tol, kF32Tol, 5);
  check_case<float>({1, 37, 8193, 16, true, false, false, true, true, true}, kF32Tol, kF32Tol, 6);
}

TEST_F(SelectiveScanCuda, F32LargerStates) {
  check_case<float>({2, 37, 2049, 64, true, true, true, true, true, true}, kF32Tol, kF32Tol, 7);
  check_case<float>({1, 37, 513, 64, false, true, false, false, false, true}, kF32Tol, kF32Tol, 8);
  check_case<float>({2, 3, 300, 256, true, true, true, true, true, true}, kF32Tol, kF32Tol, 9);
  check_case<float>({1, 33, 130, 100, false, false, true, false, true, false}, kF32Tol, kF32Tol, 10);
}

// A few channels over a long sequence: hundreds of chunks, so the carries across chunks matter.
TEST_F(SelectiveScanCuda, F32LongSequence) {
  check_case<float>({1, 5, 65537, 16, true, true, true, true, true, true}, kF32Tol, kF32Tol, 11);
}

// Several channel blocks and chunks: the partial sums of dA, dB, dC, dD and ddelta_bias go through
// the fixed-order reduction.
TEST_F(SelectiveScanCuda, F32ManyBlocks) {
  check_case<float>({2, 100, 3000, 16, true, true, true, true, true, true}, kF32Tol, kF32Tol, 12);
  check_case<float>({2, 100, 3000, 16, false, false, true, true, true, true}, kF32Tol, kF32Tol, 13);
}

// Enough channels that the N <= 16 backward takes 32 and 16 channels per block (on a 132-SM H100;
// other cards may pick otherwise), with a partial last block (D = 1000), the L a multiple of 8 that
// takes 16-byte loads, and several chunks or one.
TEST_F(SelectiveScanCuda, F32WideBlocks) {
  check_case<float>({8, 1000, 520, 16, true, true, true, true, true, true}, kF32Tol, kF32Tol, 18);
  check_case<float>({4, 1000, 256, 16, true, true, true, true, true, true}, kF32Tol, kF32Tol, 19);
}

// bf16 inputs, compared with the reference run on the same bf16-rounded inputs: the device computes
// in f32, so the error is the rounding of each result to bf16 (relative 2^-9, about 0.2%), under
// 1e-2. The gradients get 2e-2 as margin: du and ddelta are f32 differences of larger terms
// (dΔ = Σ w a + u Σ h B cancels), whose f32 error adds to the final rounding (seen on an H100: the
// same 1.7e-3 as the outputs).
constexpr double kBf16OutTol = 1e-2, kBf16GradTol = 2e-2;

TEST_F(SelectiveScanCuda, Bf16) {
  check_case<__nv_bfloat16>({2, 37, 2049, 16, true, true, true, true, true, true}, kBf16OutTol, kBf16GradTol, 14);
  check_case<__nv_bfloat16>({1, 37, 513, 64, false, true, true, false, false, true}, kBf16OutTol, kBf16GradTol, 15);
  check_case<__nv_bfloat16>({2, 100, 3000, 16, true, false, true, true, true, false}, kBf16OutTol, kBf16GradTol,
                            16);
  check_case<__nv_bfloat16>({1, 5, 20000, 16, true, true, true, true, true, true}, kBf16OutTol, kBf16GradTol, 17);
}

}  // namespace
}  // namespace krait
