// tests/dist/fake_communicator.h — FakeGroup: an in-process stand-in for N ranks, one thread each,
// with collectives on CPU tensors (f32, f64). For tests of code written against dist::Communicator.
//
//   FakeGroup group(3);
//   // on thread r:  std::unique_ptr<dist::Communicator> comm = group.member(r);
//   // or simply:    FakeGroup::run(3, [&](dist::Communicator& comm) { ... comm.rank() ... });
//
// Deterministic: every member computes the sum itself, in rank order ((x0 + x1) + x2) + ... in the
// tensors' own dtype, so every rank gets bit-identical results and a run repeats bit-for-bit.
// Each collective is two barriers (a mutex, a condition variable and a generation counter): the first
// after every rank has published its input, the second after every rank has read all inputs; outputs
// are written after the second, so in-place collectives are safe.
//
// Instead of hanging, a group whose ranks disagree fails loudly: every rank throws krait::Error when
// the ranks call different collectives or pass different element counts, dtypes or roots; when one
// rank's arguments are invalid, that rank throws the argument error and the others throw "rank r
// failed: ..."; when a member is destroyed (its thread ended) the others' later collectives throw;
// and a rank that waits at a barrier longer than the group's timeout (default 60 s) throws. After
// any of these the group is broken and every later collective throws.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "autograd/tensor.h"
#include "common/error.h"
#include "dist/communicator.h"

namespace krait::dist::testing {

class FakeGroup {
 public:
  explicit FakeGroup(int world_size, std::chrono::milliseconds timeout = std::chrono::seconds(60))
      : shared_(std::make_shared<Shared>(world_size, timeout)) {}

  int world_size() const { return shared_->world_size; }

  // Rank `rank`'s communicator; each rank at most once. Members may outlive the group.
  std::unique_ptr<Communicator> member(int rank) {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    KRAIT_CHECK(rank >= 0 && rank < shared_->world_size, "FakeGroup::member: rank ", rank, " is not in [0, ",
                shared_->world_size, ")");
    KRAIT_CHECK(!shared_->taken[rank], "FakeGroup::member: rank ", rank, " was already handed out");
    shared_->taken[rank] = true;
    return std::make_unique<Member>(shared_, rank);
  }

  // Runs body on world_size threads, each with its own member (destroyed when its body returns),
  // joins them, and rethrows the failure that broke the group (else the lowest rank's), if any.
  static void run(int world_size, const std::function<void(Communicator&)>& body,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    FakeGroup group(world_size, timeout);
    std::vector<std::exception_ptr> errors(world_size);
    std::vector<std::thread> threads;
    for (int r = 0; r < world_size; ++r) {
      threads.emplace_back([&group, &body, &errors, r] {
        try {
          std::unique_ptr<Communicator> comm = group.member(r);
          body(*comm);
        } catch (...) {
          errors[r] = std::current_exception();
        }
      });
    }
    for (std::thread& t : threads) t.join();
    const int origin = group.shared_->origin;
    if (origin >= 0 && errors[origin]) std::rethrow_exception(errors[origin]);
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
  }

 private:
  struct Slot {
    std::string op;
    DType dtype = DType::F32;
    int64_t count = 0;
    int root = -1;
    Tensor input;
  };

  struct Shared {
    Shared(int n, std::chrono::milliseconds timeout_) : world_size(n), timeout(timeout_), slots(n), taken(n, false) {
      KRAIT_CHECK(n >= 1, "FakeGroup: world size ", n, " must be at least 1");
    }
    const int world_size;
    const std::chrono::milliseconds timeout;
    std::mutex mutex;
    std::condition_variable cv;
    uint64_t generation = 0;
    int arrived = 0;
    std::string broken;  // why the group is broken ("" while healthy)
    int origin = -1;     // the rank whose failure broke it
    std::vector<Slot> slots;
    std::vector<bool> taken;

    // mutex held.
    void poison(int rank, const std::string& why) {
      if (broken.empty()) {
        broken = why;
        origin = rank;
      }
      cv.notify_all();
    }

    // Waits until every rank has arrived (mutex held through `lock`); throws when the group breaks.
    void barrier(std::unique_lock<std::mutex>& lock, int rank, const std::string& op) {
      if (!broken.empty()) throw_broken(rank, op);
      const uint64_t gen = generation;
      if (++arrived == world_size) {
        arrived = 0;
        ++generation;
        cv.notify_all();
        return;
      }
      const bool done = cv.wait_for(lock, timeout, [&] { return generation != gen || !broken.empty(); });
      if (generation != gen) return;
      if (!done) {
        poison(rank, "FakeGroup: rank " + std::to_string(rank) + " waited more than " +
                         std::to_string(timeout.count()) + " ms in " + op +
                         " (did another rank not call it, or call something else?)");
      }
      throw_broken(rank, op);
    }

    [[noreturn]] void throw_broken(int rank, const std::string& op) const {
      throw krait::Error("FakeGroup: rank " + std::to_string(rank) + " cannot finish " + op +
                         ": the group is broken: " + broken);
    }
  };

  class Member final : public Communicator {
   public:
    Member(std::shared_ptr<Shared> shared, int rank) : shared_(std::move(shared)), rank_(rank) {}
    ~Member() override {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      // No collective can complete without this rank any more.
      if (shared_->world_size > 1) shared_->poison(rank_, "rank " + std::to_string(rank_) + " left the group");
    }

    int rank() const override { return rank_; }
    int world_size() const override { return shared_->world_size; }

    void all_reduce_sum(const Tensor& data) override {
      const char* op = "all_reduce_sum";
      local_check(op, [&] { check_cpu(op, "data", data); });
      collective(op, data, data.numel(), -1, data, [&](auto* out, const auto& in, auto tag) {
        using T = decltype(tag);
        const int64_t n = data.numel();
        for (int64_t i = 0; i < n; ++i) {
          T acc = in[0][i];
          for (size_t r = 1; r < in.size(); ++r) acc += in[r][i];
          out[i] = acc;
        }
      });
    }

    void reduce_scatter_sum(const Tensor& full, const Tensor& shard) override {
      const char* op = "reduce_scatter_sum";
      local_check(op, [&] {
        detail::check_shard_full(op, shard, full, rank_, shared_->world_size);
        check_cpu(op, "full", full);
      });
      collective(op, full, full.numel(), -1, shard, [&](auto* out, const auto& in, auto tag) {
        using T = decltype(tag);
        const int64_t m = shard.numel(), base = rank_ * m;
        for (int64_t i = 0; i < m; ++i) {
          T acc = in[0][base + i];
          for (size_t r = 1; r < in.size(); ++r) acc += in[r][base + i];
          out[i] = acc;
        }
      });
    }

    void all_gather(const Tensor& shard, const Tensor& full) override {
      const char* op = "all_gather";
      local_check(op, [&] {
        detail::check_shard_full(op, shard, full, rank_, shared_->world_size);
        check_cpu(op, "shard", shard);
      });
      collective(op, shard, shard.numel(), -1, full, [&](auto* out, const auto& in, auto) {
        const int64_t m = shard.numel();
        for (size_t r = 0; r < in.size(); ++r) std::memcpy(out + r * m, in[r], m * sizeof(*out));
      });
    }

    void broadcast(const Tensor& data, int root) override {
      const char* op = "broadcast";
      local_check(op, [&] {
        check_cpu(op, "data", data);
        detail::check_root(op, root, shared_->world_size);
      });
      collective(op, data, data.numel(), root, data, [&](auto* out, const auto& in, auto) {
        std::memcpy(out, in[root], data.numel() * sizeof(*out));
      });
    }

    void all_to_all(const Tensor& send, const Tensor& recv) override {
      const char* op = "all_to_all";
      local_check(op, [&] {
        detail::check_all_to_all(op, send, recv, shared_->world_size);
        check_cpu(op, "send", send);
      });
      collective(op, send, send.numel(), -1, recv, [&](auto* out, const auto& in, auto) {
        const int64_t chunk = send.numel() / int64_t(in.size());
        for (size_t q = 0; q < in.size(); ++q) std::memcpy(out + q * chunk, in[q] + rank_ * chunk, chunk * sizeof(*out));
      });
    }

    void wait() override {}  // collectives finish before returning

   private:
    static void check_cpu(const char* op, const char* name, const Tensor& t) {
      detail::check_tensor(op, name, t);
      KRAIT_CHECK(t.device().is_cpu(), op, ": ", name, " is ", t.describe(), "; FakeGroup takes CPU tensors");
    }

    // Runs the argument checks; a failure breaks the group (the other ranks would wait forever).
    void local_check(const char* op, const std::function<void()>& checks) {
      try {
        checks();
      } catch (const krait::Error& e) {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        shared_->poison(rank_, "rank " + std::to_string(rank_) + " failed in " + op + ": " + e.what());
        throw;
      }
    }

    // Publishes input, waits for every rank, checks they agree, computes into a private buffer with
    // compute(out, inputs, T{}), waits for every rank again, then writes output.
    template <typename Compute>
    void collective(const char* op, const Tensor& input, int64_t count, int root, const Tensor& output,
                    Compute compute) {
      if (input.dtype() == DType::F64) run<double>(op, input, count, root, output, compute);
      else run<float>(op, input, count, root, output, compute);
    }

    template <typename T, typename Compute>
    void run(const char* op, const Tensor& input, int64_t count, int root, const Tensor& output, Compute compute) {
      Shared& s = *shared_;
      std::unique_lock<std::mutex> lock(s.mutex);
      s.slots[rank_] = Slot{op, input.dtype(), count, root, input};
      s.barrier(lock, rank_, op);
      const Slot& mine = s.slots[rank_];
      for (int r = 0; r < s.world_size; ++r) {
        const Slot& other = s.slots[r];
        if (other.op != mine.op || other.dtype != mine.dtype || other.count != mine.count || other.root != mine.root) {
          s.poison(rank_, "ranks disagree: rank " + std::to_string(rank_) + " called " + describe(mine) + ", rank " +
                              std::to_string(r) + " called " + describe(other));
          s.throw_broken(rank_, op);
        }
      }
      std::vector<const T*> inputs(s.world_size);
      for (int r = 0; r < s.world_size; ++r) inputs[r] = static_cast<const T*>(s.slots[r].input.raw_data());
      lock.unlock();
      // Inputs stay untouched until every rank has passed the second barrier.
      std::vector<T> result(output.numel());
      compute(result.data(), inputs, T{});
      lock.lock();
      s.barrier(lock, rank_, op);
      s.slots[rank_].input = Tensor();
      lock.unlock();
      if (!result.empty()) std::memcpy(output.raw_data(), result.data(), result.size() * sizeof(T));
    }

    static std::string describe(const Slot& slot) {
      std::string text = slot.op + " of " + std::to_string(slot.count) + " " + dtype_name(slot.dtype);
      if (slot.root >= 0) text += " from root " + std::to_string(slot.root);
      return text;
    }

    std::shared_ptr<Shared> shared_;
    const int rank_;
  };

  std::shared_ptr<Shared> shared_;
};

}  // namespace krait::dist::testing
