// tests/cuda_ops/cuda_test_util.h — helpers for the CUDA kernel tests: the skip without a GPU, device
// buffers, random values exactly representable in f32 or bf16, uploads and downloads through doubles,
// and the closeness and bit-identity checks.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/rng.h"
#include "kernels/cuda/device.h"
#include "kernels/dtype.h"

// Skips the test on machines without a CUDA device (CI).
#define KRAIT_REQUIRE_GPU()                                                              \
  do {                                                                                   \
    if (::krait::kernels::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";   \
  } while (0)

namespace krait::kernels::cuda::testing {

// Device memory on device 0, freed on destruction.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept : bytes_(other.bytes_), ptr_(other.ptr_) {
    other.bytes_ = 0;
    other.ptr_ = nullptr;
  }
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;

  void* get() const { return ptr_; }
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }
  // The raw bytes, for bit-identity checks.
  std::vector<uint8_t> bytes_on_host() const;

 private:
  size_t bytes_;
  void* ptr_;
};

// v rounded to the values `type` (f32 or bf16) holds, as doubles.
std::vector<double> round_to(DType type, std::vector<double> v);
// n uniform values in [lo, hi), rounded to `type`.
std::vector<double> random_values(Rng& rng, int64_t n, double lo, double hi, DType type = DType::F64);

// Copies v (each value exactly representable in `type`) to the device as `type`.
DeviceBuffer upload(const std::vector<double>& v, DType type);
DeviceBuffer upload_ids(const std::vector<int64_t>& ids);
// The first n elements of buffer, read as `type`.
std::vector<double> download(const DeviceBuffer& buffer, DType type, int64_t n);
// The int64 at the start of buffer (an index a kernel left on the device).
int64_t download_index(const DeviceBuffer& buffer);

// The relative tolerance for results stored in `type`: f32 1e-5, bf16 1/128 (two units in the last place).
double tolerance(DType type);

// Every |got[i] - want[i]| <= rtol * (|want[i]| + rms(want)): relative for typical elements, and relative to
// the array's scale for those near zero (sums that cancel). Reports the worst element.
void expect_close(const std::vector<double>& got, const std::vector<double>& want, double rtol,
                  const std::string& what);

// The two buffers hold the same bytes.
void expect_bit_identical(const DeviceBuffer& a, const DeviceBuffer& b, const std::string& what);

}  // namespace krait::kernels::cuda::testing
