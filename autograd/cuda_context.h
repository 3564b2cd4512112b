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

// Graph memory pools (autograd/cuda_graph.h). While a device has an open pool, its allocations are
// reserved for that pool: a block it hands out returns to it when released, never to the shared cache,
// so memory a captured graph's kernels write stays out of other tensors' way until close_pool; so does a
// block released while the pool is open. A pool reuses its own released blocks (the captured work runs
// in the order it was recorded).
int open_pool(int device);             // routes the device's allocations to a new pool; returns its id
void stop_pool(int device);            // routes them to the shared cache again; the pool keeps its blocks
void close_pool(int device, int pool);  // its blocks go to the shared cache (the live ones when released)
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
