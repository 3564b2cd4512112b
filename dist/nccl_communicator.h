// dist/nccl_communicator.h — the NCCL communicator: one rank per process and CUDA device. Declared
// only in builds with NCCL (KRAIT_HAS_NCCL, set by dist/CMakeLists.txt when CUDA is on and nccl.h and
// libnccl are found); kHasNccl tells callers whether this build has it.
//
// Streams. The communicator owns a non-blocking CUDA stream on its device. Each collective records an
// event on the device's compute stream (krait::cuda::stream(device)) and makes the communicator's
// stream wait on it, so it sees everything enqueued before the call; it then runs concurrently with
// later compute work. wait() records an event on the communicator's stream and makes the compute
// stream wait on it (no host synchronization). Tensors handed to collectives are kept alive until
// wait(), so the caching allocator cannot give their blocks to compute work that might run first.
//
// Faults: what is detected, and how.
// - Every NCCL and CUDA call is checked; a failure throws krait::Error naming the rank, the call,
//   ncclGetErrorString and ncclGetLastError.
// - Initialization (ncclCommInitRankConfig on a non-blocking communicator) is polled with
//   ncclCommGetAsyncError; if it has not finished within `timeout` (a rank never started, or the
//   ranks disagree on the unique id or world size) the communicator is aborted and the constructor
//   throws. A collective call that returns ncclInProgress is polled the same way.
// - A watchdog thread wakes every 100 ms. It polls ncclCommGetAsyncError
//   (asynchronous NCCL errors: a peer's connection closed, a network failure, ...) and queries the
//   completion event recorded after each collective. When NCCL reports an error, a CUDA error shows
//   up, or the oldest unfinished collective was enqueued more than `timeout` ago (a rank died, hung,
//   or called a different collective), it calls ncclCommAbort — which makes the stuck NCCL kernels
//   exit, so a host blocked on the compute stream (item(), a copy to the host) wakes up with garbage
//   in the collective's outputs — and records the error. Every later call on the communicator
//   (collectives and wait()) throws it, naming the rank and, for a timeout, "<collective> did not
//   finish within N s (a rank died or hung?)". The timeout counts from the enqueue, so it must exceed
//   the compute work a collective waits behind, plus the slowest rank's lag.
// - Not detected: ranks that call matching collectives with different data (wrong results, no
//   error); a fault after the last call on the communicator is reported by no one (the destructor
//   never throws; it finalizes with the same timeout, then aborts if that fails).
// NVLink multicast is left to NCCL's environment (NCCL_NVLS_ENABLE is never set or read here).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "dist/communicator.h"

namespace krait::dist {

#if KRAIT_HAS_NCCL
inline constexpr bool kHasNccl = true;

// A fresh NCCL unique id (ncclGetUniqueId), NCCL_UNIQUE_ID_BYTES (128) bytes: rank 0 makes it and the
// rendezvous sends the bytes to the other ranks.
std::vector<uint8_t> nccl_unique_id();

// Joins the communicator `unique_id` names as `rank` of `world_size` on CUDA device `device`
// (collectives then take tensors on cuda:device only). Blocks until every rank has joined or
// `timeout` has passed (then throws). `timeout` also bounds every collective (see above).
std::unique_ptr<Communicator> make_nccl_communicator(int rank, int world_size, int device,
                                                     const std::vector<uint8_t>& unique_id,
                                                     std::chrono::seconds timeout);
#else
inline constexpr bool kHasNccl = false;
#endif

}  // namespace krait::dist
