// autograd/cuda_context.cpp — streams, cuBLASLt handles and the caching allocator (see cuda_context.h).
#include "autograd/cuda_context.h"

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "autograd/tensor.h"
#include "common/error.h"

#if KRAIT_HAS_CUDA
#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"

namespace krait::cuda {
namespace {

constexpr size_t kCublasWorkspaceBytes = size_t{32} << 20;

// Small blocks round to 512 bytes, large ones to 2 MiB, so freed blocks fit later requests of
// similar size without fragmenting into many distinct sizes.
size_t block_size(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t{2} << 20, kLargeFrom = size_t{1} << 20;
  const size_t unit = bytes >= kLargeFrom ? kLarge : kSmall;
  return std::max(unit, (bytes + unit - 1) / unit * unit);
}

struct DeviceState {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasLtHandle_t cublas = nullptr;
  void* cublas_workspace = nullptr;
  std::multimap<size_t, void*> free_blocks;  // by block size
  MemoryStats stats;
  std::map<int, std::multimap<size_t, void*>> pool_free_blocks;  // each graph pool's released blocks
  std::map<void*, int> pool_of;  // the blocks graph pools own
  int open_pool = 0, last_pool = 0;  // 0: none open

  explicit DeviceState(int index) : device(index) {
    KRAIT_CUDA_CHECK(cudaSetDevice(device));
    KRAIT_CUDA_CHECK(cudaStreamCreate(&stream));  // a blocking stream: ordered with the legacy default stream
  }
};

std::mutex mutex;
std::vector<std::unique_ptr<DeviceState>> devices;

struct DeferredCheck {
  Tensor first_bad;
  std::function<std::string(int64_t)> message;
};
std::map<int, std::vector<DeferredCheck>> deferred;  // by device, under mutex

DeviceState& state(int device) {
  KRAIT_CHECK(device >= 0 && device < kernels::cuda::device_count(), "cuda:", device, " is not present (",
              kernels::cuda::device_count(), " CUDA devices)");
  if (devices.size() <= static_cast<size_t>(device)) devices.resize(device + 1);
  if (!devices[device]) devices[device] = std::make_unique<DeviceState>(device);
  return *devices[device];
}

// Returns the cached blocks to the driver (after the stream's work that may still use them).
size_t free_cached_locked(DeviceState& s) {
  KRAIT_CUDA_CHECK(cudaStreamSynchronize(s.stream));
  size_t freed = 0;
  for (auto& [bytes, block] : s.free_blocks) {
    kernels::cuda::device_free(block, s.device);
    s.stats.reserved -= bytes;
    freed += bytes;
  }
  s.free_blocks.clear();
  return freed;
}

// A block of `size` bytes (a block size) for a request of `requested` bytes: a cached one of that size,
// else a new one. When cudaMalloc runs out of memory the cached blocks go back to the driver and it is
// tried once more; a second failure is an OutOfMemoryError naming the request and the allocator's
// in-use and reserved bytes. Any other CUDA failure propagates as the plain Error device_alloc threw.
void* allocate_locked(DeviceState& s, size_t size, size_t requested) {
  auto it = s.free_blocks.find(size);
  if (it != s.free_blocks.end()) {
    void* ptr = it->second;
    s.free_blocks.erase(it);
    return ptr;
  }
  void* ptr = nullptr;
  try {
    ptr = kernels::cuda::device_alloc(size, s.device);
  } catch (const OutOfMemoryError&) {
    const size_t freed = free_cached_locked(s);
    try {
      ptr = kernels::cuda::device_alloc(size, s.device);
    } catch (const OutOfMemoryError& e) {
      KRAIT_FAIL_OOM("CUDA out of memory on cuda:", s.device, ": asked for ", requested, " bytes (a block of ", size,
                     " bytes); the allocator has ", s.stats.in_use, " bytes in use by tensors and ",
                     s.stats.reserved, " bytes reserved, after returning ", freed,
                     " cached bytes to the driver. ", e.what());
    }
  }
  s.stats.reserved += size;
  ++s.stats.device_allocations;
  return ptr;
}

}  // namespace

void* allocate(size_t bytes, int device) {
  std::lock_guard lock(mutex);
  DeviceState& s = state(device);
  const size_t size = block_size(bytes);
  void* ptr = nullptr;
  if (s.open_pool) {
    auto& pool = s.pool_free_blocks[s.open_pool];
    if (auto it = pool.find(size); it != pool.end()) {
      ptr = it->second;
      pool.erase(it);
    } else {
      ptr = allocate_locked(s, size, bytes);
      s.pool_of[ptr] = s.open_pool;
    }
  } else {
    ptr = allocate_locked(s, size, bytes);
  }
  s.stats.in_use += size;
  s.stats.peak_in_use = std::max(s.stats.peak_in_use, s.stats.in_use);
  return ptr;
}

void release(void* ptr, size_t bytes, int device) noexcept {
  if (ptr == nullptr) return;
  std::lock_guard lock(mutex);
  DeviceState& s = *devices[device];
  const size_t size = block_size(bytes);
  // A block released while a pool is open joins it even when allocated before: the captured kernels
  // may read it, so it must not serve other tensors while the graph lives.
  if (s.open_pool && !s.pool_of.contains(ptr)) s.pool_of[ptr] = s.open_pool;
  if (auto it = s.pool_of.find(ptr); it != s.pool_of.end()) s.pool_free_blocks[it->second].emplace(size, ptr);
  else s.free_blocks.emplace(size, ptr);
  s.stats.in_use -= size;
}

int open_pool(int device) {
  std::lock_guard lock(mutex);
  DeviceState& s = state(device);
  KRAIT_CHECK(s.open_pool == 0, "cuda:", device, ": a graph memory pool is already open");
  s.open_pool = ++s.last_pool;
  return s.open_pool;
}

void stop_pool(int device) {
  std::lock_guard lock(mutex);
  state(device).open_pool = 0;
}

void close_pool(int device, int pool) {
  std::lock_guard lock(mutex);
  DeviceState& s = state(device);
  if (s.open_pool == pool) s.open_pool = 0;
  for (const auto& [size, block] : s.pool_free_blocks[pool]) s.free_blocks.emplace(size, block);
  s.pool_free_blocks.erase(pool);
  std::erase_if(s.pool_of, [pool](const auto& entry) { return entry.second == pool; });
}

MemoryStats memory_stats(int device) {
  std::lock_guard lock(mutex);
  return state(device).stats;
}

void reset_peak(int device) {
  std::lock_guard lock(mutex);
  DeviceState& s = state(device);
  s.stats.peak_in_use = s.stats.in_use;
}

void empty_cache(int device) {
  std::lock_guard lock(mutex);
  free_cached_locked(state(device));
}

cudaStream_t stream(int device) {
  std::lock_guard lock(mutex);
  return state(device).stream;
}

kernels::cuda::GemmContext gemm_context(int device) {
  std::lock_guard lock(mutex);
  DeviceState& s = state(device);
  if (!s.cublas) {
    KRAIT_CHECK(cublasLtCreate(&s.cublas) == CUBLAS_STATUS_SUCCESS, "cublasLtCreate failed on cuda:", device);
    s.cublas_workspace = allocate_locked(s, kCublasWorkspaceBytes, kCublasWorkspaceBytes);
  }
  return {s.cublas, s.cublas_workspace, kCublasWorkspaceBytes, s.stream};
}

void synchronize(int device) {
  KRAIT_CUDA_CHECK(cudaStreamSynchronize(stream(device)));
  run_deferred_checks(device);
}

void defer_check(const Tensor& first_bad, std::function<std::string(int64_t)> message) {
  const int device = first_bad.device().index;
  size_t pending = 0;
  {
    std::lock_guard lock(mutex);
    auto& checks = deferred[device];
    checks.push_back({first_bad, std::move(message)});
    pending = checks.size();
  }
  if (pending > kMaxDeferredChecks) run_deferred_checks(device);
}

void run_deferred_checks(int device) {
  std::vector<DeferredCheck> pending;
  {
    std::lock_guard lock(mutex);
    auto it = deferred.find(device);
    if (it == deferred.end() || it->second.empty()) return;
    pending.swap(it->second);  // a message that reads a tensor back re-enters with an empty list
  }
  const cudaStream_t s = stream(device);
  std::vector<int64_t> first(pending.size(), -1);
  for (size_t i = 0; i < pending.size(); ++i)
    KRAIT_CUDA_CHECK(cudaMemcpyAsync(&first[i], pending[i].first_bad.raw_data(), sizeof(int64_t),
                                     cudaMemcpyDeviceToHost, s));
  KRAIT_CUDA_CHECK(cudaStreamSynchronize(s));
  for (size_t i = 0; i < pending.size(); ++i)
    if (first[i] >= 0) throw Error(pending[i].message(first[i]));
}

}  // namespace krait::cuda

#else  // CPU-only build: CUDA tensors cannot be created, so none of these is reachable.

namespace krait::cuda {
void* allocate(size_t, int device) { KRAIT_FAIL("cuda:", device, " requested but Krait was built without CUDA"); }
void release(void*, size_t, int) noexcept {}
MemoryStats memory_stats(int) { return {}; }
void reset_peak(int) {}
void empty_cache(int) {}
int open_pool(int device) { KRAIT_FAIL("cuda:", device, " requested but Krait was built without CUDA"); }
void stop_pool(int) {}
void close_pool(int, int) {}
void synchronize(int) {}
void defer_check(const Tensor&, std::function<std::string(int64_t)>) {}
void run_deferred_checks(int) {}
}  // namespace krait::cuda

#endif
