// The CUDA multi-tensor optimizer kernels against the CPU ones: the AdamW update is bit-identical to
// cpu::adamw_step<float> over several steps, tensors of awkward sizes and alignments and both lerp
// branches; the sum of squares matches the double sum and repeats bit for bit; scaling is bit-identical.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu/adamw.h"
#include "kernels/cuda/adamw.h"
#include "tests/cuda_ops/cuda_test_util.h"

namespace krait::kernels::cuda {
namespace {

using testing::DeviceBuffer;

// Sizes of the tensors of one launch; the 16-element one is placed one float off 16-byte alignment.
const std::vector<int64_t> kNumels = {1, 7, 16, 2047, 16384, 16385, 100003, 0};
constexpr int kMisaligned = 2;

std::vector<float> random_floats(Rng& rng, int64_t n, double lo, double hi) {
  std::vector<float> v(n);
  for (float& x : v) x = float(rng.uniform(lo, hi));
  return v;
}

// One f32 buffer on the device holding each tensor at its offset (the misaligned one at +1 element).
struct Packed {
  std::vector<int64_t> offsets;
  int64_t total = 0;
  explicit Packed(const std::vector<int64_t>& numels) {
    for (size_t i = 0; i < numels.size(); ++i) {
      total = (total + 3) / 4 * 4 + (int(i) == kMisaligned ? 1 : 0);
      offsets.push_back(total);
      total += numels[i];
    }
  }
};

DeviceBuffer upload_floats(const std::vector<float>& v) {
  DeviceBuffer buffer(v.size() * sizeof(float));
  if (!v.empty()) copy(buffer.get(), v.data(), buffer.bytes(), CopyKind::HostToDevice, 0);
  return buffer;
}

std::vector<float> download_floats(const DeviceBuffer& buffer) {
  std::vector<float> v(buffer.bytes() / sizeof(float));
  if (!v.empty()) copy(v.data(), buffer.get(), buffer.bytes(), CopyKind::DeviceToHost, 0);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(CudaAdamW, StepIsBitIdenticalToCpu) {
  KRAIT_REQUIRE_GPU();
  for (double beta1 : {0.9, 0.3}) {  // lerp weights 0.1 and 0.7 take the two branches of torch's lerp
    Rng rng(11);
    const Packed layout(kNumels);
    std::vector<float> p = random_floats(rng, layout.total, -1, 1), m(layout.total, 0.0f), v(layout.total, 0.0f);
    const DeviceBuffer dp = upload_floats(p), dm = upload_floats(m), dv = upload_floats(v);
    DeviceBuffer dg(layout.total * sizeof(float));
    DeviceBuffer workspace(adamw_workspace_bytes(int(kNumels.size())));
    for (int64_t step = 1; step <= 3; ++step) {
      const std::vector<float> g = random_floats(rng, layout.total, -2, 2);
      copy(dg.get(), g.data(), dg.bytes(), CopyKind::HostToDevice, 0);
      std::vector<AdamWTensor> tensors;
      for (size_t i = 0; i < kNumels.size(); ++i) {
        // Each tensor its own step count and weight decay, as the optimizer may give them.
        const cpu::AdamWHyper h{.lr = 1e-3 * double(i + 1),
                                .beta1 = beta1,
                                .beta2 = 0.95,
                                .eps = 1e-8,
                                .weight_decay = i % 2 ? 0.0 : 0.1,
                                .step = step + int64_t(i)};
        const int64_t o = layout.offsets[i];
        cpu::adamw_step(p.data() + o, g.data() + o, m.data() + o, v.data() + o, kNumels[i], h);
        tensors.push_back({dp.as<float>() + o, dg.as<float>() + o, dm.as<float>() + o, dv.as<float>() + o,
                           kNumels[i], h});
      }
      adamw_step(tensors.data(), int(tensors.size()), workspace.get(), nullptr);
      const std::string what = "beta1 " + std::to_string(beta1) + " step " + std::to_string(step);
      EXPECT_TRUE(same_bits(download_floats(dp), p)) << what << ": parameters differ";
      EXPECT_TRUE(same_bits(download_floats(dm), m)) << what << ": exp_avg differs";
      EXPECT_TRUE(same_bits(download_floats(dv), v)) << what << ": exp_avg_sq differs";
    }
  }
}

TEST(CudaAdamW, SumSquaresMatchesDoubleSumAndRepeats) {
  KRAIT_REQUIRE_GPU();
  Rng rng(12);
  const Packed layout(kNumels);
  const std::vector<float> x = random_floats(rng, layout.total, -3, 3);
  const DeviceBuffer dx = upload_floats(x);
  std::vector<FloatBuffer> buffers;
  double want = 0.0;
  for (size_t i = 0; i < kNumels.size(); ++i) {
    want += cpu::sum_squares(x.data() + layout.offsets[i], kNumels[i]);
    buffers.push_back({dx.as<float>() + layout.offsets[i], kNumels[i]});
  }
  DeviceBuffer workspace(sum_squares_workspace_bytes(buffers.data(), int(buffers.size())));
  DeviceBuffer first(sizeof(double)), second(sizeof(double));
  sum_squares(buffers.data(), int(buffers.size()), first.as<double>(), workspace.get(), nullptr);
  sum_squares(buffers.data(), int(buffers.size()), second.as<double>(), workspace.get(), nullptr);
  EXPECT_NEAR(testing::download(first, DType::F64, 1)[0], want, 1e-12 * want);
  testing::expect_bit_identical(first, second, "sum of squares");

  sum_squares(buffers.data(), 0, first.as<double>(), workspace.get(), nullptr);
  EXPECT_EQ(testing::download(first, DType::F64, 1)[0], 0.0) << "no buffers";
}

TEST(CudaAdamW, ScaleInplaceIsBitIdenticalToCpu) {
  KRAIT_REQUIRE_GPU();
  Rng rng(13);
  const Packed layout(kNumels);
  std::vector<float> x = random_floats(rng, layout.total, -3, 3);
  const DeviceBuffer dx = upload_floats(x);
  std::vector<FloatBuffer> buffers;
  for (size_t i = 0; i < kNumels.size(); ++i) {
    cpu::scale_inplace(x.data() + layout.offsets[i], 0.3f, kNumels[i]);
    buffers.push_back({dx.as<float>() + layout.offsets[i], kNumels[i]});
  }
  DeviceBuffer workspace(scale_inplace_workspace_bytes(int(buffers.size())));
  scale_inplace(buffers.data(), int(buffers.size()), 0.3f, workspace.get(), nullptr);
  EXPECT_TRUE(same_bits(download_floats(dx), x));
}

}  // namespace
}  // namespace krait::kernels::cuda
