// dist/nccl_communicator.cpp — the NCCL communicator (see nccl_communicator.h for the stream
// ordering and the fault handling). Compiles to nothing without KRAIT_HAS_NCCL.
#include "dist/nccl_communicator.h"

#if KRAIT_HAS_NCCL

#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "autograd/cuda_context.h"
#include "common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"

namespace krait::dist {
namespace {

using Clock = std::chrono::steady_clock;

// "<ncclGetErrorString> (<ncclGetLastError>)": the code's meaning, then NCCL's own last message.
std::string nccl_error_text(ncclResult_t result, ncclComm_t comm) {
  std::string text = ncclGetErrorString(result);
  const char* last = ncclGetLastError(comm);
  if (last != nullptr && *last != '\0') text += std::string(" (") + last + ")";
  return text;
}

// Between polls of a collective that NCCL is still enqueueing (ncclInProgress). That usually ends
// within microseconds, so the first 200 us only yield; a fixed 1 ms sleep here cost about a
// millisecond per collective (35 ms a step for ZeRO-1's two passes over 21 buckets at 130M, on two
// H200s) and, inside backward, held back the kernels queued after each bucket's all-reduce.
void pause_while_enqueueing(Clock::duration waited) {
  if (waited < std::chrono::microseconds(200)) std::this_thread::yield();
  else if (waited < std::chrono::milliseconds(20)) std::this_thread::sleep_for(std::chrono::microseconds(20));
  else std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::F32: return ncclFloat32;
    case DType::BF16: return ncclBfloat16;
    default: KRAIT_FAIL("NCCL communicator: no NCCL type for ", dtype_name(dtype));
  }
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(int rank, int world_size, int device, const ncclUniqueId& id, std::chrono::seconds timeout)
      : rank_(rank), world_size_(world_size), device_(device), timeout_(timeout) {
    try {
      init(id);
      watchdog_ = std::thread([this] { watchdog_loop(); });
    } catch (...) {
      abort_comm();
      release_cuda_resources();
      throw;
    }
  }

  ~NcclCommunicator() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    stop_cv_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
    cudaSetDevice(device_);
    if (comm_ != nullptr) {
      // Flush what was issued (bounded by the timeout), then free; abort when that fails.
      bool clean = false;
      ncclResult_t result = ncclCommFinalize(comm_);
      if (result == ncclSuccess || result == ncclInProgress) {
        const auto start = Clock::now();
        ncclResult_t state = result;
        while (state == ncclInProgress && Clock::now() - start < timeout_) {
          if (ncclCommGetAsyncError(comm_, &state) != ncclSuccess) break;
          if (state == ncclInProgress) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        clean = state == ncclSuccess;
      }
      if (clean) ncclCommDestroy(comm_);
      else ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    release_cuda_resources();
    keep_alive_.clear();  // the communicator's stream is idle now: their blocks may be reused
  }

  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }

  void all_reduce_sum(const Tensor& data) override {
    constexpr const char* what = "all_reduce_sum";
    detail::check_tensor(what, "data", data);
    check_device(what, "data", data);
    if (data.numel() == 0) return;
    std::unique_lock<std::mutex> lock(mutex_);
    begin_locked();
    const std::string desc = describe(what, data);
    finish_locked(desc, ncclAllReduce(data.raw_data(), data.raw_data(), data.numel(), nccl_type(data.dtype()),
                                      ncclSum, comm_, stream_),
                  "ncclAllReduce", {data});
  }

  void reduce_scatter_sum(const Tensor& full, const Tensor& shard) override {
    constexpr const char* what = "reduce_scatter_sum";
    detail::check_shard_full(what, shard, full, rank_, world_size_);
    check_device(what, "full", full);
    if (shard.numel() == 0) return;
    std::unique_lock<std::mutex> lock(mutex_);
    begin_locked();
    const std::string desc = describe(what, full, shard);
    finish_locked(desc, ncclReduceScatter(full.raw_data(), shard.raw_data(), shard.numel(),
                                          nccl_type(full.dtype()), ncclSum, comm_, stream_),
                  "ncclReduceScatter", {full, shard});
  }

  void all_gather(const Tensor& shard, const Tensor& full) override {
    constexpr const char* what = "all_gather";
    detail::check_shard_full(what, shard, full, rank_, world_size_);
    check_device(what, "shard", shard);
    if (shard.numel() == 0) return;
    std::unique_lock<std::mutex> lock(mutex_);
    begin_locked();
    const std::string desc = describe(what, shard, full);
    finish_locked(desc, ncclAllGather(shard.raw_data(), full.raw_data(), shard.numel(), nccl_type(shard.dtype()),
                                      comm_, stream_),
                  "ncclAllGather", {shard, full});
  }

  void broadcast(const Tensor& data, int root) override {
    constexpr const char* what = "broadcast";
    detail::check_tensor(what, "data", data);
    check_device(what, "data", data);
    detail::check_root(what, root, world_size_);
    if (data.numel() == 0) return;
    std::unique_lock<std::mutex> lock(mutex_);
    begin_locked();
    const std::string desc = describe(what, data) + " from rank " + std::to_string(root);
    finish_locked(desc, ncclBroadcast(data.raw_data(), data.raw_data(), data.numel(), nccl_type(data.dtype()), root,
                                      comm_, stream_),
                  "ncclBroadcast", {data});
  }

  // One group of a send and a receive per peer (NCCL has no all-to-all call of its own).
  void all_to_all(const Tensor& send, const Tensor& recv) override {
    constexpr const char* what = "all_to_all";
    detail::check_all_to_all(what, send, recv, world_size_);
    check_device(what, "send", send);
    if (send.numel() == 0) return;
    std::unique_lock<std::mutex> lock(mutex_);
    begin_locked();
    const std::string desc = describe(what, send, recv);
    const int64_t chunk = send.numel() / world_size_;
    const size_t chunk_bytes = size_t(chunk) * dtype_size(send.dtype());
    const ncclDataType_t type = nccl_type(send.dtype());
    ncclResult_t result = ncclGroupStart();
    for (int peer = 0; peer < world_size_ && result == ncclSuccess; ++peer) {
      result = ncclSend(static_cast<const char*>(send.raw_data()) + peer * chunk_bytes, chunk, type, peer, comm_, stream_);
      if (result == ncclSuccess)
        result = ncclRecv(static_cast<char*>(recv.raw_data()) + peer * chunk_bytes, chunk, type, peer, comm_, stream_);
    }
    const ncclResult_t ended = ncclGroupEnd();
    finish_locked(desc, result != ncclSuccess ? result : ended, "ncclSend/ncclRecv", {send, recv});
  }

  void wait() override {
    std::vector<Tensor> released;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      throw_if_failed_locked();
      KRAIT_CUDA_CHECK(cudaSetDevice(device_));
      KRAIT_CUDA_CHECK(cudaEventRecord(joined_, stream_));
      KRAIT_CUDA_CHECK(cudaStreamWaitEvent(krait::cuda::stream(device_), joined_, 0));
      // Work enqueued on the compute stream from now on runs after the collectives, so their
      // tensors' blocks may go back to the allocator.
      released.swap(keep_alive_);
    }
  }

 private:
  struct Pending {
    cudaEvent_t done = nullptr;
    Clock::time_point enqueued;
    std::string what;
  };

  void init(const ncclUniqueId& id) {
    KRAIT_CUDA_CHECK(cudaSetDevice(device_));
    (void)krait::cuda::stream(device_);  // the compute stream exists before any collective waits on it
    KRAIT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    KRAIT_CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    KRAIT_CUDA_CHECK(cudaEventCreateWithFlags(&joined_, cudaEventDisableTiming));

    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // calls return at once (ncclInProgress); we poll, bounded by the timeout
    ncclResult_t result = ncclCommInitRankConfig(&comm_, world_size_, id, rank_, &config);
    const std::string what = "NCCL initialization (rank " + std::to_string(rank_) + " of " +
                             std::to_string(world_size_) + " on cuda:" + std::to_string(device_) + ")";
    if (result != ncclSuccess && result != ncclInProgress) {
      const std::string text = nccl_error_text(result, comm_);
      abort_comm();
      KRAIT_FAIL("rank ", rank_, ": NCCL call ncclCommInitRankConfig failed: ", text);
    }
    const auto start = Clock::now();
    while (result == ncclInProgress) {
      const ncclResult_t call = ncclCommGetAsyncError(comm_, &result);
      if (call != ncclSuccess) {
        const std::string text = nccl_error_text(call, comm_);
        abort_comm();
        KRAIT_FAIL("rank ", rank_, ": NCCL call ncclCommGetAsyncError during ", what, " failed: ", text);
      }
      if (result == ncclInProgress) {
        if (Clock::now() - start > timeout_) {
          abort_comm();
          KRAIT_FAIL("rank ", rank_, ": ", what, " did not finish within ", timeout_.count(),
                     " s (did every rank start, with the same unique id and world size?)");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    if (result != ncclSuccess) {
      const std::string text = nccl_error_text(result, comm_);
      abort_comm();
      KRAIT_FAIL("rank ", rank_, ": ", what, " failed: ", text);
    }
  }

  void abort_comm() noexcept {
    if (comm_ != nullptr) ncclCommAbort(comm_);
    comm_ = nullptr;
  }

  void release_cuda_resources() noexcept {
    if (stream_ != nullptr) cudaStreamSynchronize(stream_);
    for (const Pending& p : pending_) cudaEventDestroy(p.done);
    pending_.clear();
    for (cudaEvent_t e : free_events_) cudaEventDestroy(e);
    free_events_.clear();
    if (ready_ != nullptr) cudaEventDestroy(ready_);
    if (joined_ != nullptr) cudaEventDestroy(joined_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
    ready_ = joined_ = nullptr;
    stream_ = nullptr;
  }

  void check_device(const char* what, const char* name, const Tensor& t) const {
    KRAIT_CHECK(t.device() == Device::cuda(device_), what, ": ", name, " is ", t.describe(),
                "; this NCCL communicator (rank ", rank_, ") works on cuda:", device_);
  }

  static std::string describe(const char* what, const Tensor& a) { return std::string(what) + " of " + a.describe(); }
  static std::string describe(const char* what, const Tensor& a, const Tensor& b) {
    return std::string(what) + " of " + a.describe() + " into " + b.describe();
  }

  void throw_if_failed_locked() const {
    if (!failure_.empty()) throw krait::Error(failure_);
  }

  // Records the first failure and aborts the communicator (its stuck kernels exit). mutex_ held.
  void fail_locked(const std::string& message) noexcept {
    if (failure_.empty()) failure_ = message;
    abort_comm();
  }

  // The collective's stream waits for the compute stream's work so far. mutex_ held.
  void begin_locked() {
    throw_if_failed_locked();
    KRAIT_CUDA_CHECK(cudaSetDevice(device_));
    KRAIT_CUDA_CHECK(cudaEventRecord(ready_, krait::cuda::stream(device_)));
    KRAIT_CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
  }

  // After the NCCL call: waits out ncclInProgress (bounded by the timeout), then records the
  // completion event the watchdog watches and keeps the tensors alive until wait(). mutex_ held.
  void finish_locked(const std::string& desc, ncclResult_t result, const char* call,
                     std::initializer_list<Tensor> tensors) {
    const auto start = Clock::now();
    while (result == ncclInProgress) {
      const ncclResult_t query = ncclCommGetAsyncError(comm_, &result);
      if (query != ncclSuccess) {
        result = query;
        call = "ncclCommGetAsyncError";
        break;
      }
      if (result == ncclInProgress) {
        if (Clock::now() - start > timeout_) {
          fail_locked(message_prefix() + desc + " did not finish enqueueing within " +
                      std::to_string(timeout_.count()) + " s (a rank died or hung?); the communicator was aborted");
          throw_if_failed_locked();
        }
        pause_while_enqueueing(Clock::now() - start);
      }
    }
    if (result != ncclSuccess) {
      fail_locked(message_prefix() + "NCCL call " + call + " for " + desc + " failed: " +
                  nccl_error_text(result, comm_) + "; the communicator was aborted");
      throw_if_failed_locked();
    }
    cudaEvent_t done = nullptr;
    if (!free_events_.empty()) {
      done = free_events_.back();
      free_events_.pop_back();
    } else {
      KRAIT_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    }
    const cudaError_t recorded = cudaEventRecord(done, stream_);
    if (recorded != cudaSuccess) {
      cudaEventDestroy(done);
      cudaGetLastError();
      KRAIT_FAIL(message_prefix(), "cudaEventRecord after ", desc, " failed: ", cudaGetErrorName(recorded), " (",
                 cudaGetErrorString(recorded), ")");
    }
    pending_.push_back({done, Clock::now(), desc});
    keep_alive_.insert(keep_alive_.end(), tensors.begin(), tensors.end());
  }

  std::string message_prefix() const { return "rank " + std::to_string(rank_) + ": NCCL "; }

  // See nccl_communicator.h: polls NCCL's asynchronous error and the collectives' completion events;
  // aborts on an error or on a collective pending longer than the timeout.
  void watchdog_loop() {
    cudaSetDevice(device_);
    constexpr auto poll = std::chrono::milliseconds(100);  // timeouts are whole seconds
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      stop_cv_.wait_for(lock, poll, [this] { return stop_; });
      if (stop_) break;
      if (!failure_.empty() || comm_ == nullptr) continue;
      const std::string during = pending_.empty() ? std::string("no collective was pending")
                                                  : pending_.front().what + " was pending";
      ncclResult_t async = ncclSuccess;
      const ncclResult_t query = ncclCommGetAsyncError(comm_, &async);
      if (query != ncclSuccess) {
        fail_locked(message_prefix() + "call ncclCommGetAsyncError failed (" + during +
                    "): " + nccl_error_text(query, comm_) + "; the communicator was aborted");
        continue;
      }
      if (async != ncclSuccess && async != ncclInProgress) {
        fail_locked(message_prefix() + "reported an asynchronous error (" + during + "): " +
                    nccl_error_text(async, comm_) + "; the communicator was aborted");
        continue;
      }
      while (!pending_.empty()) {
        const cudaError_t state = cudaEventQuery(pending_.front().done);
        if (state == cudaErrorNotReady) break;
        if (state != cudaSuccess) {
          cudaGetLastError();
          fail_locked(message_prefix() + pending_.front().what + " failed on the device: " +
                      cudaGetErrorName(state) + " (" + cudaGetErrorString(state) + "); the communicator was aborted");
          break;
        }
        free_events_.push_back(pending_.front().done);
        pending_.pop_front();
      }
      if (failure_.empty() && !pending_.empty() && Clock::now() - pending_.front().enqueued > timeout_) {
        fail_locked(message_prefix() + pending_.front().what + " did not finish within " +
                    std::to_string(timeout_.count()) + " s (a rank died or hung?); the communicator was aborted");
      }
    }
  }

  const int rank_, world_size_, device_;
  const std::chrono::seconds timeout_;
  ncclComm_t comm_ = nullptr;          // null once aborted
  cudaStream_t stream_ = nullptr;      // the communicator's own non-blocking stream
  cudaEvent_t ready_ = nullptr;        // compute stream -> communicator stream, per collective
  cudaEvent_t joined_ = nullptr;       // communicator stream -> compute stream, in wait()

  // Guards comm_ (the watchdog may abort it), pending_, free_events_, failure_, keep_alive_, stop_.
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::deque<Pending> pending_;             // enqueued, completion not yet seen by the watchdog
  std::vector<cudaEvent_t> free_events_;    // completion events to reuse
  std::string failure_;                     // the first fault; every later call throws it
  std::vector<Tensor> keep_alive_;          // tensors of collectives enqueued since the last wait()
  std::thread watchdog_;
};

}  // namespace

std::vector<uint8_t> nccl_unique_id() {
  ncclUniqueId id;
  const ncclResult_t result = ncclGetUniqueId(&id);
  KRAIT_CHECK(result == ncclSuccess, "NCCL call ncclGetUniqueId failed: ", nccl_error_text(result, nullptr));
  std::vector<uint8_t> bytes(NCCL_UNIQUE_ID_BYTES);
  static_assert(sizeof(id.internal) == NCCL_UNIQUE_ID_BYTES);
  std::memcpy(bytes.data(), id.internal, NCCL_UNIQUE_ID_BYTES);
  return bytes;
}

std::unique_ptr<Communicator> make_nccl_communicator(int rank, int world_size, int device,
                                                     const std::vector<uint8_t>& unique_id,
                                                     std::chrono::seconds timeout) {
  KRAIT_CHECK(world_size >= 1, "make_nccl_communicator: world size ", world_size, " must be at least 1");
  KRAIT_CHECK(rank >= 0 && rank < world_size, "make_nccl_communicator: rank ", rank, " is not in [0, ", world_size,
              ")");
  KRAIT_CHECK(unique_id.size() == NCCL_UNIQUE_ID_BYTES, "make_nccl_communicator: rank ", rank, ": the unique id has ",
              unique_id.size(), " bytes, expected NCCL_UNIQUE_ID_BYTES = ", NCCL_UNIQUE_ID_BYTES);
  KRAIT_CHECK(timeout.count() > 0, "make_nccl_communicator: timeout ", timeout.count(), " s must be positive");
  const int devices = kernels::cuda::device_count();
  KRAIT_CHECK(device >= 0 && device < devices, "make_nccl_communicator: rank ", rank, ": cuda:", device,
              " is not present (", devices, " CUDA devices)");
  ncclUniqueId id;
  std::memcpy(id.internal, unique_id.data(), NCCL_UNIQUE_ID_BYTES);
  return std::make_unique<NcclCommunicator>(rank, world_size, device, id, timeout);
}

}  // namespace krait::dist

#endif  // KRAIT_HAS_NCCL
