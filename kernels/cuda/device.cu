// kernels/cuda/device.cu — device count, allocation, copies (see device.h).
#include "kernels/cuda/device.h"

#include "kernels/cuda/check.h"

namespace krait::kernels::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error so later calls are not confused by it
    return 0;
  }
  return n;
}

void* device_alloc(size_t bytes, int device) {
  KRAIT_CUDA_CHECK(cudaSetDevice(device));
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status == cudaSuccess) return ptr;
  // An allocation failure is not sticky: clear it so that the next launch check does not report it.
  // (A sticky error from an earlier kernel stays whatever we do, and is reported as what it is.)
  cudaGetLastError();
  if (status == cudaErrorMemoryAllocation) {
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) cudaGetLastError();
    KRAIT_FAIL_OOM("out of memory on cuda:", device, ": cudaMalloc of ", bytes, " bytes failed (", free_bytes,
                   " of ", total_bytes, " bytes free on the device)");
  }
  KRAIT_FAIL("cudaMalloc of ", bytes, " bytes on cuda:", device, " failed: ", cudaGetErrorName(status), " (",
             cudaGetErrorString(status), ")");
}

void device_free(void* ptr, int device) noexcept {
  if (ptr == nullptr) return;
  cudaSetDevice(device);
  cudaFree(ptr);
}

void copy(void* dst, const void* src, size_t bytes, CopyKind kind, int device) {
  KRAIT_CUDA_CHECK(cudaSetDevice(device));
  const cudaMemcpyKind cuda_kind = kind == CopyKind::HostToDevice   ? cudaMemcpyHostToDevice
                                   : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost
                                                                    : cudaMemcpyDeviceToDevice;
  KRAIT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cuda_kind));
}

void memset_zero(void* ptr, size_t bytes, int device) {
  KRAIT_CUDA_CHECK(cudaSetDevice(device));
  KRAIT_CUDA_CHECK(cudaMemset(ptr, 0, bytes));
}

int multiprocessor_count() {
  int device = 0, sms = 0;
  KRAIT_CUDA_CHECK(cudaGetDevice(&device));
  KRAIT_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return sms;
}

void synchronize(int device) {
  KRAIT_CUDA_CHECK(cudaSetDevice(device));
  KRAIT_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace krait::kernels::cuda
