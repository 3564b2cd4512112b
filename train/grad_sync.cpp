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
    : comm_(comm), params_(std::move(params)), buckets_(plan_buckets(params_, bucket_bytes)) {
  KRAIT_CHECK(!params_.empty(), "GradSync: no parameters to synchronize");
  const Device device = params_.front().value.device();
  for (const GradBucket& b : buckets_) flat_.push_back(Tensor::empty({b.numel}, DType::F32, device));
}

void GradSync::all_reduce() {
  auto gradient = [&](size_t k) {
    const Tensor grad = params_[k].value.grad();
    KRAIT_CHECK(grad.defined() && grad.dtype() == DType::F32, "data-parallel step: parameter ", params_[k].name,
                grad.defined() ? " has a gradient of dtype " + std::string(dtype_name(grad.dtype())) + ", expected f32"
                               : std::string(" received no gradient on this rank"));
    return grad;
  };
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const GradBucket& b = buckets_[i];
    for (size_t j = 0; j < b.params.size(); ++j) {
      const Tensor grad = gradient(b.params[j]);
      flat_[i].view_range(b.offsets[j], grad.shape()).copy_from(grad);
    }
    comm_.all_reduce_sum(flat_[i]);
  }
  comm_.wait();
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const GradBucket& b = buckets_[i];
    for (size_t j = 0; j < b.params.size(); ++j) {
      const Tensor grad = params_[b.params[j]].value.grad();
      grad.copy_from(flat_[i].view_range(b.offsets[j], grad.shape()));
    }
  }
}

}  // namespace krait::train
