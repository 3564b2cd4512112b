// kernels/cuda/device.h — the host-side face of the CUDA runtime that the rest of Krait uses:
// device count, allocation, copies and synchronisation, each checked. Declared in every build;
// defined only when Krait is built with CUDA (KRAIT_HAS_CUDA).
#pragma once

#include <cstddef>

namespace krait::kernels::cuda {

// Number of usable CUDA devices; 0 when there is no driver or no card (never throws).
int device_count();

// Throws krait::OutOfMemoryError when cudaMalloc reports cudaErrorMemoryAllocation (naming the size,
// the device and its free bytes), krait::Error naming the CUDA error on any other failure.
void* device_alloc(size_t bytes, int device);
void device_free(void* ptr, int device) noexcept;

enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
// Synchronous copy (the default stream); device is the one that owns the device side.
void copy(void* dst, const void* src, size_t bytes, CopyKind kind, int device);
void memset_zero(void* ptr, size_t bytes, int device);
void synchronize(int device);
// Streaming multiprocessors of the current device (sizes grids).
int multiprocessor_count();

}  // namespace krait::kernels::cuda
