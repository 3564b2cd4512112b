// data/prefetch_sampler.cpp — PrefetchSampler (see prefetch_sampler.h).
#include "data/prefetch_sampler.h"

#include "common/error.h"

namespace krait::data {

PrefetchSampler::PrefetchSampler(std::unique_ptr<TrainSampler> inner, size_t depth)
    : inner_(std::move(inner)), depth_(depth) {
  KRAIT_CHECK(inner_ != nullptr && depth_ >= 1, "PrefetchSampler: needs a sampler and a depth >= 1");
  consumed_ = inner_->state();
  start();
}

PrefetchSampler::~PrefetchSampler() { stop(); }

void PrefetchSampler::start() {
  stopping_ = false;
  worker_ = std::thread([this] { work(); });
}

void PrefetchSampler::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
  ready_.clear();
  error_ = nullptr;
}

void PrefetchSampler::work() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || ready_.size() < depth_; });
      if (stopping_) return;
    }
    Ready item;
    try {
      inner_->next(item.batch);  // only this thread touches inner_ while it runs
      item.after = inner_->state();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      changed_.notify_all();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.push_back(std::move(item));
    }
    changed_.notify_all();
  }
}

void PrefetchSampler::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !ready_.empty() || error_; });
  if (ready_.empty()) std::rethrow_exception(error_);
  out = std::move(ready_.front().batch);
  consumed_ = ready_.front().after;
  ready_.pop_front();
  lock.unlock();
  changed_.notify_all();
}

// If the wrapped sampler rejects the state, no worker is running: keep the error so that next()
// rethrows it rather than waiting for a batch that never comes.
void PrefetchSampler::set_state(const SamplerState& state) {
  stop();
  try {
    inner_->set_state(state);
  } catch (...) {
    error_ = std::current_exception();
    throw;
  }
  consumed_ = state;
  start();
}

}  // namespace krait::data
