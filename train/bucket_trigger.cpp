// train/bucket_trigger.cpp — BucketTrigger (see bucket_trigger.h).
#include "train/bucket_trigger.h"

namespace krait::train {

BucketTrigger::BucketTrigger(const std::vector<GradBucket>& buckets, const ParameterList& params,
                             std::function<void(size_t)> start)
    : start_(std::move(start)) {
  for (size_t i = 0; i < buckets.size(); ++i) {
    sizes_.push_back(buckets[i].params.size());
    for (size_t k : buckets[i].params) where_[params[k].value.grad_slot().get()] = i;
  }
}

void BucketTrigger::arm() {
  pending_ = sizes_;
  started_.assign(sizes_.size(), false);
  started_in_backward_ = 0;
  hook_ = std::make_unique<LeafGradientHook>([this](const GradSlot& slot) { gradient_final(slot); });
}

void BucketTrigger::gradient_final(const GradSlot& slot) {
  const auto it = where_.find(&slot);
  if (it == where_.end()) return;  // a frozen or foreign leaf
  if (--pending_[it->second] > 0) return;
  started_[it->second] = true;
  start_(it->second);
  ++started_in_backward_;
}

void BucketTrigger::start_rest() {
  hook_.reset();
  if (started_.size() != sizes_.size()) started_.assign(sizes_.size(), false);
  for (size_t i = 0; i < sizes_.size(); ++i)
    if (!started_[i]) start_(i);
  started_.clear();
}

}  // namespace krait::train
