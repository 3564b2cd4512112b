// dist/communicator.h — Communicator: the collectives data-parallel training needs (sum all-reduce,
// sum reduce-scatter, all-gather, broadcast) over the ranks of one job, one rank per process and
// device. Implementations: the single-rank identity (here), NCCL (nccl_communicator.h, CUDA builds
// with NCCL), and an in-process fake for tests (tests/dist/fake_communicator.h).
#pragma once

#include <memory>

#include "autograd/tensor.h"

namespace krait::dist {

// Every tensor is read as a flat run of numel() elements (Krait tensors are contiguous row-major);
// only numel, dtype and device matter, not the shape. Every rank must call the same collectives in
// the same order with the same element counts and dtypes (a rank that does not hangs or fails the job).
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;

  // Collectives on contiguous tensors of one device (f32 or bf16 on CUDA; f32 or f64 on the CPU).
  // On CUDA they are enqueued on the communicator's own stream after the work already enqueued on the
  // device's compute stream (an event), so they may overlap later compute work; wait() makes the
  // compute stream wait for every collective enqueued so far. Until wait(), later compute work must
  // neither read nor write a tensor handed to a collective (the communicator keeps the tensors alive
  // until then). CPU implementations finish before returning.
  //
  // Arguments are checked (defined, same device and dtype, a supported dtype, the communicator's
  // device, full.numel() == world_size() * shard.numel(), root in [0, world_size()), outputs that do
  // not partly overlap inputs); a violation throws krait::Error naming the collective and the tensors.
  virtual void all_reduce_sum(const Tensor& data) = 0;                           // in place
  virtual void reduce_scatter_sum(const Tensor& full, const Tensor& shard) = 0;  // shard = rank's 1/world of the sum
  virtual void all_gather(const Tensor& shard, const Tensor& full) = 0;          // full = concat of ranks' shards
  virtual void broadcast(const Tensor& data, int root) = 0;                     // every rank gets root's data
  // send and recv hold world_size() equal chunks: chunk r of send goes to rank r, and chunk q of recv
  // is what rank q sent this rank (MoE expert parallelism's token exchange). Disjoint memory.
  virtual void all_to_all(const Tensor& send, const Tensor& recv) = 0;
  virtual void wait() = 0;
};

// World size 1: every collective is the identity (reduce_scatter_sum, all_gather and all_to_all copy;
// the others do nothing). Accepts CPU and CUDA tensors (the copies run on the compute stream); wait() does nothing.
std::unique_ptr<Communicator> make_single_rank_communicator();

// The argument checks every implementation shares (defined in single_rank_communicator.cpp). Each
// throws krait::Error starting with `what` (e.g. "all_reduce_sum") and naming the tensors.
namespace detail {
// A defined tensor of a dtype the device supports (f32/bf16 on CUDA, f32/f64 on the CPU).
void check_tensor(const char* what, const char* name, const Tensor& t);
// shard and full: both checked, same device and dtype, full.numel() == world_size * shard.numel(),
// and their memory either disjoint or the in-place layout (shard at full + rank * shard.numel()).
void check_shard_full(const char* what, const Tensor& shard, const Tensor& full, int rank, int world_size);
void check_root(const char* what, int root, int world_size);
// send and recv: both checked, same device, dtype and numel, a multiple of world_size, disjoint.
void check_all_to_all(const char* what, const Tensor& send, const Tensor& recv, int world_size);
}  // namespace detail

}  // namespace krait::dist
