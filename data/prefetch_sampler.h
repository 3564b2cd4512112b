// data/prefetch_sampler.h — PrefetchSampler: runs another TrainSampler on a worker thread, a few
// batches ahead, so reading and cutting windows overlaps the model's step. Its state is the wrapped
// sampler's state as of the last batch handed out, so a checkpoint resumes exactly there.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "data/sampler.h"

namespace krait::data {

class PrefetchSampler final : public TrainSampler {
 public:
  explicit PrefetchSampler(std::unique_ptr<TrainSampler> inner, size_t depth = 4);
  ~PrefetchSampler() override;

  // Rethrows, on the caller's thread, an error the worker met.
  void next(Batch& out) override;
  SamplerState state() const override { return consumed_; }
  // Stops the worker, drops the batches read ahead, restores the wrapped sampler and starts again.
  void set_state(const SamplerState& state) override;

 private:
  struct Ready {
    Batch batch;
    SamplerState after;
  };
  void start();
  void stop();
  void work();

  std::unique_ptr<TrainSampler> inner_;
  size_t depth_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Ready> ready_;
  bool stopping_ = false;
  std::exception_ptr error_;
  SamplerState consumed_;
  std::thread worker_;
};

}  // namespace krait::data
