// train/grad_sync.cpp — plan_buckets and GradSync (see grad_sync.h).
#include "train/grad_sync.h"

#include "common/error.h"

namespace krait::train {

std::vector<GradBucket> plan_buckets(const ParameterList& params, int64_t bucket_bytes) {
  KRAIT_CHECK(bucket_bytes > 0, "plan_buckets: bucket size must be > 0 bytes, got ", bucket_bytes);
  std::vector<GradBucket> buckets;
  for (size_t k = params.size(); k-- > 0;) {
    if (buckets.empty() || buckets.back().numel * int64_t{4} >= bucket_bytes) buckets.emplace_back();
    GradBucket& b = buckets.back();
    b.params.push_back(k);
    b.offsets.push_back(b.numel);
    b.numel += params[k].value.numel();
  }
  return buckets;
}

GradSync::GradSync(dist::Communicator& comm, ParameterList params, int64_t bucket_bytes)
    : comm_(comm),
      params_(std::move(params)),
      buckets_(plan_buckets(params_, bucket_bytes)),
      trigger_(buckets_, params_, [this](size_t bucket) { start(bucket); }) {
  KRAIT_CHECK(!params_.empty(), "GradSync: no parameters to synchronize");
  const Device device = params_.front().value.device();
  for (size_t i = 0; i < buckets_.size(); ++i) {
    flat_.push_back(Tensor::empty({buckets_[i].numel}, DType::F32, device));
    for (size_t j = 0; j < buckets_[i].params.size(); ++j) {
      const Tensor& value = params_[buckets_[i].params[j]].value;
      if (value.dtype() == DType::F32) value.grad_slot()->buffer = part(i, j);
    }
  }
}

GradSync::~GradSync() {
  for (const Parameter& p : params_)
    if (p.value.grad_slot()) p.value.grad_slot()->buffer = Tensor();
}

Tensor GradSync::part(size_t i, size_t j) const {
  const Tensor& value = params_[buckets_[i].params[j]].value;
  return flat_[i].view_range(buckets_[i].offsets[j], value.shape());
}

void GradSync::arm() { trigger_.arm(); }

// Hands a bucket to the communicator, whose stream waits for the work enqueued so far (the gradients'
// last writes) but not for the backward work enqueued after it. A gradient held outside its bucket
// is copied in first.
void GradSync::start(size_t i) {
  const GradBucket& b = buckets_[i];
  for (size_t j = 0; j < b.params.size(); ++j) {
    const Parameter& p = params_[b.params[j]];
    const Tensor grad = p.value.grad();
    KRAIT_CHECK(grad.defined() && grad.dtype() == DType::F32, "data-parallel step: parameter ", p.name,
                grad.defined() ? " has a gradient of dtype " + std::string(dtype_name(grad.dtype())) + ", expected f32"
                               : std::string(" received no gradient on this rank"));
    const Tensor slot = part(i, j);
    if (grad.raw_data() != slot.raw_data()) slot.copy_from(grad);
  }
  comm_.all_reduce_sum(flat_[i]);
}

void GradSync::finish() {
  trigger_.start_rest();
  comm_.wait();
  for (size_t i = 0; i < buckets_.size(); ++i) {
    for (size_t j = 0; j < buckets_[i].params.size(); ++j) {
      const Tensor grad = params_[buckets_[i].params[j]].value.grad();
      const Tensor slot = part(i, j);
      if (grad.raw_data() != slot.raw_data()) grad.copy_from(slot);
    }
  }
}

}  // namespace krait::train
