// tests/cuda_ops/cuda_test_util.cpp — see cuda_test_util.h.
#include "tests/cuda_ops/cuda_test_util.h"

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "kernels/bf16.h"

namespace krait::kernels::cuda::testing {

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes), ptr_(bytes ? device_alloc(bytes, 0) : nullptr) {}
DeviceBuffer::~DeviceBuffer() { device_free(ptr_, 0); }

std::vector<uint8_t> DeviceBuffer::bytes_on_host() const {
  std::vector<uint8_t> host(bytes_);
  if (bytes_) copy(host.data(), ptr_, bytes_, CopyKind::DeviceToHost, 0);
  return host;
}

std::vector<double> round_to(DType type, std::vector<double> v) {
  for (double& x : v) {
    if (type == DType::F32) x = static_cast<float>(x);
    else if (type == DType::BF16) x = static_cast<float>(bf16(static_cast<float>(x)));
  }
  return v;
}

std::vector<double> random_values(Rng& rng, int64_t n, double lo, double hi, DType type) {
  std::vector<double> v(n);
  for (double& x : v) x = rng.uniform(lo, hi);
  return round_to(type, std::move(v));
}

DeviceBuffer upload(const std::vector<double>& v, DType type) {
  KRAIT_CHECK(type == DType::F32 || type == DType::BF16, "upload: f32 or bf16 only");
  DeviceBuffer buffer(v.size() * dtype_size(type));
  std::vector<uint8_t> host(buffer.bytes());
  for (size_t i = 0; i < v.size(); ++i) {
    if (type == DType::F32) {
      const float f = static_cast<float>(v[i]);
      std::memcpy(host.data() + 4 * i, &f, 4);
    } else {
      const bf16 b(static_cast<float>(v[i]));
      std::memcpy(host.data() + 2 * i, &b.bits, 2);
    }
  }
  if (!host.empty()) copy(buffer.get(), host.data(), host.size(), CopyKind::HostToDevice, 0);
  return buffer;
}

DeviceBuffer upload_ids(const std::vector<int64_t>& ids) {
  DeviceBuffer buffer(ids.size() * sizeof(int64_t));
  if (!ids.empty()) copy(buffer.get(), ids.data(), buffer.bytes(), CopyKind::HostToDevice, 0);
  return buffer;
}

int64_t download_index(const DeviceBuffer& buffer) {
  int64_t v = 0;
  copy(&v, buffer.get(), sizeof v, CopyKind::DeviceToHost, 0);
  return v;
}

std::vector<double> download(const DeviceBuffer& buffer, DType type, int64_t n) {
  KRAIT_CHECK(size_t(n) * dtype_size(type) <= buffer.bytes(), "download: buffer too small");
  std::vector<uint8_t> host(size_t(n) * dtype_size(type));
  if (n) copy(host.data(), buffer.get(), host.size(), CopyKind::DeviceToHost, 0);
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) {
    if (type == DType::F32) {
      float f;
      std::memcpy(&f, host.data() + 4 * i, 4);
      v[i] = f;
    } else if (type == DType::BF16) {
      bf16 b;
      std::memcpy(&b.bits, host.data() + 2 * i, 2);
      v[i] = static_cast<float>(b);
    } else if (type == DType::F64) {
      std::memcpy(&v[i], host.data() + 8 * i, 8);
    } else {
      KRAIT_FAIL("download: unsupported type ", dtype_name(type));
    }
  }
  return v;
}

double tolerance(DType type) { return type == DType::BF16 ? 1.0 / 128 : 1e-5; }

void expect_close(const std::vector<double>& got, const std::vector<double>& want, double rtol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  if (want.empty()) return;
  double squares = 0;
  for (double w : want) squares += w * w;
  const double rms = std::sqrt(squares / double(want.size()));
  size_t worst = 0;
  double worst_ratio = 0;  // error / allowed error
  for (size_t i = 0; i < want.size(); ++i) {
    const double error = std::abs(got[i] - want[i]);
    double ratio = error == 0 ? 0.0 : error / (rtol * (std::abs(want[i]) + rms));
    if (std::isnan(want[i])) ratio = std::isnan(got[i]) ? 0.0 : INFINITY;
    else if (std::isnan(ratio)) ratio = INFINITY;  // a NaN where a number is expected
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  EXPECT_LE(worst_ratio, 1.0) << what << ": element " << worst << " is " << got[worst] << ", expected "
                              << want[worst] << " (rtol " << rtol << ", rms " << rms << ", " << want.size()
                              << " elements)";
}

void expect_bit_identical(const DeviceBuffer& a, const DeviceBuffer& b, const std::string& what) {
  EXPECT_TRUE(a.bytes_on_host() == b.bytes_on_host()) << what << ": two runs differ";
}

}  // namespace krait::kernels::cuda::testing
