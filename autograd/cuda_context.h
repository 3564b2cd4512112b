// autograd/cuda_context.h — per-device CUDA resources shared by all ops: the stream every Krait
// kernel and copy on that device runs on, the cuBLASLt handle and its workspace, and the caching
// allocator behind CUDA tensor storage (freed blocks are kept for reuse, so a steady training step
// makes no cudaMalloc; safe because all work on a device is ordered on its one stream).
// Declared in every build; defined only when Krait is built with CUDA (KRAIT_HAS_CUDA).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#if KRAIT_HAS_CUDA
#include "kernels/cuda/gemm.h"
#endif

namespace krait {
class Tensor;
}

namespace krait::cuda {

void* allocate(size_t bytes, int device);
void release(void* ptr, size_t bytes, int device) noexcept;

struct MemoryStats {
  size_t in_use = 0;       // bytes held by live tensors (rounded to the allocator's block sizes)
  size_t peak_in_use = 0;  // the most in_use has been since the last reset_peak()
  size_t reserved = 0;     // bytes obtained from cudaMalloc, in use or cached
  int64_t device_allocations = 0;  // cudaMalloc calls so far
};
MemoryStats memory_stats(int device);
void reset_peak(int device);
void empty_cache(int device);  // returns cached blocks to the driver

#if KRAIT_HAS_CUDA
cudaStream_t stream(int device);
kernels::cuda::GemmContext gemm_context(int device);
#endif

// Waits for the device's stream, then runs the deferred checks (below).
void synchronize(int device);

// Checks deferred to the host's next wait. An op that validates indices on the device (embedding ids,
// cross-entropy targets) leaves the first offending position in `first_bad` (one i64 on a CUDA
// device, -1 when all are valid) instead of waiting for it, and its kernels stay in bounds whatever
// the indices. run_deferred_checks reads the pending checks of a device when the host waits for it
// anyway (Tensor::to the CPU, item(), synchronize()) and throws message(position) for the first that
// failed, so validation adds no synchronization to a training step. More than kMaxDeferredChecks
// pending are run at once (each keeps its inputs alive).
inline constexpr size_t kMaxDeferredChecks = 64;
void defer_check(const Tensor& first_bad, std::function<std::string(int64_t)> message);
void run_deferred_checks(int device);

}  // namespace krait::cuda
