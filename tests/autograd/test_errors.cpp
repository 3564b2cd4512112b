// Error types: OutOfMemoryError is a krait::Error (so code that catches Error keeps working) with
// file:line; on a GPU an absurd allocation throws it, naming the byte count, the device and the
// allocator's state, and leaves the allocator usable; other CUDA failures stay plain Errors.
#include <gtest/gtest.h>

#include <string>

#include "autograd/cuda_context.h"
#include "autograd/tensor.h"
#include "common/error.h"
#if KRAIT_HAS_CUDA
#include "kernels/cuda/device.h"
#endif

namespace krait {
namespace {

constexpr size_t kPebibyte = size_t{1} << 50;

TEST(Errors, OutOfMemoryErrorIsAKraitError) {
  bool caught = false;
  try {
    KRAIT_FAIL_OOM("cuda:", 3, ": asked for ", kPebibyte, " bytes");
  } catch (const Error& e) {  // caught through the base class
    caught = true;
    const std::string message = e.what();
    EXPECT_NE(dynamic_cast<const OutOfMemoryError*>(&e), nullptr);
    EXPECT_NE(message.find("cuda:3: asked for 1125899906842624 bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("test_errors.cpp:"), std::string::npos) << message;
  }
  EXPECT_TRUE(caught);
  // A plain Error is not an OutOfMemoryError.
  EXPECT_THROW(
      {
        try {
          KRAIT_FAIL("not memory");
        } catch (const OutOfMemoryError&) {
          ADD_FAILURE() << "a plain Error was caught as OutOfMemoryError";
        }
      },
      Error);
}

class CudaMemoryErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_F(CudaMemoryErrors, AbsurdTensorIsOutOfMemory) {
  const Tensor warm = Tensor::empty({1024}, DType::F32, Device::cuda());  // the allocator holds something
  const cuda::MemoryStats before = cuda::memory_stats(0);
  std::string message;
  try {
    Tensor::empty({int64_t(kPebibyte / 4)}, DType::F32, Device::cuda());
    ADD_FAILURE() << "a 1 PiB tensor was allocated";
  } catch (const OutOfMemoryError& e) {
    message = e.what();
  }
  for (const char* part : {"1125899906842624 bytes", "cuda:0", "in use", "reserved", "cudaMalloc"})
    EXPECT_NE(message.find(part), std::string::npos) << "\"" << message << "\" does not mention \"" << part << "\"";
  // Nothing leaked into the statistics, and the allocator (and the CUDA context) still work.
  EXPECT_EQ(cuda::memory_stats(0).in_use, before.in_use);
  const Tensor ok = Tensor::full({257}, 2.0, DType::F32, Device::cuda());
  EXPECT_EQ(ok.to_doubles()[256], 2.0);
}

#if KRAIT_HAS_CUDA
TEST_F(CudaMemoryErrors, RawAllocation) {
  try {
    kernels::cuda::device_alloc(kPebibyte, 0);
    ADD_FAILURE() << "1 PiB was allocated";
  } catch (const OutOfMemoryError& e) {
    EXPECT_NE(std::string(e.what()).find("1125899906842624 bytes"), std::string::npos) << e.what();
  }
  // A device that does not exist is an error, but not out-of-memory.
  const int missing = kernels::cuda::device_count();
  try {
    kernels::cuda::device_alloc(256, missing);
    ADD_FAILURE() << "allocated on a missing device";
  } catch (const OutOfMemoryError& e) {
    ADD_FAILURE() << "a missing device reported as out of memory: " << e.what();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cudaErrorInvalidDevice"), std::string::npos) << e.what();
  }
  void* ptr = kernels::cuda::device_alloc(256, 0);  // still fine afterwards
  EXPECT_NE(ptr, nullptr);
  kernels::cuda::device_free(ptr, 0);
}
#endif

}  // namespace
}  // namespace krait
