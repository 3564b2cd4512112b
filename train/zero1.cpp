// train/zero1.cpp — ShardedAdamW (see zero1.h).
#include "train/zero1.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"
#include "kernels/cpu/adamw.h"
#if KRAIT_HAS_CUDA
#include "autograd/cuda_context.h"
#include "kernels/cuda/adamw.h"
#endif

namespace krait::train {

namespace {
#if KRAIT_HAS_CUDA
Tensor scratch(size_t bytes, int device) {
  return Tensor::empty({static_cast<int64_t>((bytes + 3) / 4)}, DType::I32, Device::cuda(device));
}
#endif
}  // namespace

ShardedAdamW::ShardedAdamW(dist::Communicator& comm, ParameterList params, const AdamWConfig& config,
                           int64_t bucket_bytes)
    : comm_(comm),
      params_(std::move(params)),
      config_(config),
      world_(comm.world_size()),
      rank_(comm.rank()) {
  config_.validate();
  KRAIT_CHECK(!params_.empty(), "ShardedAdamW: no parameters to optimize");
  buckets_ = plan_buckets(params_, bucket_bytes);
  std::unordered_set<std::string> names;
  for (const Parameter& p : params_) {
    KRAIT_CHECK(p.value.defined(), "ShardedAdamW: parameter '", p.name, "' has no tensor");
    KRAIT_CHECK(names.insert(p.name).second, "ShardedAdamW: parameter name '", p.name, "' appears twice");
  }
  const Tensor& first = params_.front().value;
  dtype_ = first.dtype();
  device_ = first.device();
  KRAIT_CHECK(dtype_ == DType::F32 || (dtype_ == DType::F64 && device_.is_cpu()), "ShardedAdamW: parameter '",
              params_.front().name, "' is ", first.describe(), "; only f32 (and on the cpu f64) parameters are sharded");
  for (const Parameter& p : params_)
    KRAIT_CHECK(p.value.dtype() == dtype_ && p.value.device() == device_, "ShardedAdamW: parameter '", p.name, "' is ",
                p.value.describe(), " but '", params_.front().name, "' is ", first.describe(),
                "; all parameters must share one dtype and device");

  // Flat buffers, padded to a multiple of the world size (the padding stays zero), and the segments of
  // this rank's shards, each a Parameter AdamW updates in place.
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const GradBucket& b = buckets_[i];
    const int64_t shard = (b.numel + world_ - 1) / world_;
    shard_numel_.push_back(shard);
    flat_grad_.push_back(Tensor::zeros({shard * world_}, dtype_, device_));
    flat_param_.push_back(Tensor::zeros({shard * world_}, dtype_, device_));
    const int64_t lo = rank_ * shard, hi = lo + shard;
    for (size_t j = 0; j < b.params.size(); ++j) {
      const int64_t begin = std::max(lo, b.offsets[j]);
      const int64_t end = std::min(hi, b.offsets[j] + params_[b.params[j]].value.numel());
      if (begin >= end) continue;
      const Segment seg{b.params[j], i, begin - b.offsets[j], begin, end - begin};
      segments_.push_back(seg);
      const Parameter& owner = params_[seg.param];
      Tensor value = flat_param_[i].view_range(seg.flat_offset, {seg.numel});
      value.set_requires_grad(true);
      value.set_grad(flat_grad_[i].view_range(seg.flat_offset, {seg.numel}));
      segment_params_.push_back({owner.name + "[" + std::to_string(seg.param_offset) + ":" +
                                     std::to_string(seg.param_offset + seg.numel) + "]",
                                 value, owner.tags});
    }
    // Backward accumulates each gradient straight into its part of the bucket.
    for (size_t j = 0; j < b.params.size(); ++j) {
      const Tensor& value = params_[b.params[j]].value;
      value.grad_slot()->buffer = flat_grad_[i].view_range(b.offsets[j], value.shape());
    }
  }
  trigger_ = std::make_unique<BucketTrigger>(buckets_, params_, [this](size_t bucket) { start(bucket); });
  adamw_ = std::make_unique<AdamW>(segment_params_, config_);
  param_step_.assign(params_.size(), 0);
  norm_buf_ = Tensor::zeros({2 * static_cast<int64_t>(world_)}, DType::F32, device_);
  refresh_params();
}

ShardedAdamW::~ShardedAdamW() {
  for (const Parameter& p : params_)
    if (p.value.grad_slot()) p.value.grad_slot()->buffer = Tensor();
}

void ShardedAdamW::arm() { trigger_->arm(); }

void ShardedAdamW::start(size_t i) {
  const GradBucket& b = buckets_[i];
  for (size_t j = 0; j < b.params.size(); ++j) {
    const Parameter& p = params_[b.params[j]];
    check_gradient(p);
    const Tensor part = flat_grad_[i].view_range(b.offsets[j], p.value.shape());
    if (p.value.grad().raw_data() != part.raw_data()) part.copy_from(p.value.grad());
  }
  comm_.reduce_scatter_sum(flat_grad_[i], flat_grad_[i].view_range(rank_ * shard_numel_[i], {shard_numel_[i]}));
}

int64_t ShardedAdamW::step_count() const { return adamw_->step_count(); }

void ShardedAdamW::refresh_params() {
  for (size_t s = 0; s < segments_.size(); ++s) {
    const Segment& seg = segments_[s];
    segment_params_[s].value.copy_from(params_[seg.param].value.view_range(seg.param_offset, {seg.numel}));
  }
}

void ShardedAdamW::check_gradient(const Parameter& p) const {
  const Tensor grad = p.value.grad();
  KRAIT_CHECK(grad.defined(), "ShardedAdamW::step: parameter '", p.name, "' received no gradient on this rank");
  KRAIT_CHECK(grad.shape() == p.value.shape() && grad.dtype() == p.value.dtype() && grad.device() == p.value.device(),
              "ShardedAdamW::step: parameter '", p.name, "' is ", p.value.describe(), " but its gradient is ",
              grad.describe());
}

double ShardedAdamW::local_sum_squares() const {
  double sum = 0.0;
  if (device_.is_cuda()) {
#if KRAIT_HAS_CUDA
    std::vector<kernels::cuda::FloatBuffer> buffers;
    for (const Parameter& s : segment_params_) buffers.push_back({s.value.grad().data<float>(), s.value.numel()});
    if (buffers.empty()) return 0.0;
    const int count = static_cast<int>(buffers.size());
    const Tensor workspace = scratch(kernels::cuda::sum_squares_workspace_bytes(buffers.data(), count), device_.index);
    const Tensor result = Tensor::empty({}, DType::F64, device_);
    kernels::cuda::sum_squares(buffers.data(), count, result.data<double>(), workspace.raw_data(),
                               cuda::stream(device_.index));
    return result.item();
#endif
  }
  for (const Parameter& s : segment_params_) {
    const Tensor grad = s.value.grad();
    sum += dtype_ == DType::F64 ? kernels::cpu::sum_squares(grad.data<double>(), grad.numel())
                                : kernels::cpu::sum_squares(grad.data<float>(), grad.numel());
  }
  return sum;
}

// As clip_grad_norm: f32 gradients are multiplied by the coefficient rounded to f32.
void ShardedAdamW::scale_shard(double coef) {
  if (device_.is_cuda()) {
#if KRAIT_HAS_CUDA
    std::vector<kernels::cuda::FloatBuffer> buffers;
    for (const Parameter& s : segment_params_) buffers.push_back({s.value.grad().data<float>(), s.value.numel()});
    if (buffers.empty()) return;
    const int count = static_cast<int>(buffers.size());
    const Tensor workspace = scratch(kernels::cuda::scale_inplace_workspace_bytes(count), device_.index);
    kernels::cuda::scale_inplace(buffers.data(), count, static_cast<float>(coef), workspace.raw_data(),
                                 cuda::stream(device_.index));
#endif
    return;
  }
  for (const Parameter& s : segment_params_) {
    const Tensor grad = s.value.grad();
    if (dtype_ == DType::F64) kernels::cpu::scale_inplace(grad.data<double>(), coef, grad.numel());
    else kernels::cpu::scale_inplace(grad.data<float>(), static_cast<float>(coef), grad.numel());
  }
}

double ShardedAdamW::step(double lr, double max_norm) {
  KRAIT_CHECK(lr >= 0.0, "ShardedAdamW::step: lr must be >= 0, got ", lr);
  for (const Parameter& p : params_) check_gradient(p);

  // 1. This rank's shard of the summed gradients (in place: the shard is part of the bucket), for the
  // buckets that backward did not start.
  trigger_->start_rest();
  comm_.wait();

  // 2. The global norm: every rank's partial sum of squares, its 8 bytes carried as two f32 elements
  // (all_gather only moves bytes), added in rank order, so every rank computes the same double.
  const double partial = local_sum_squares();
  {
    const Tensor mine = norm_buf_.view_range(2 * rank_, {2});
    if (device_.is_cpu()) {
      std::memcpy(mine.raw_data(), &partial, sizeof partial);
    } else {
      const Tensor host = Tensor::empty({2}, DType::F32, Device::cpu());
      std::memcpy(host.raw_data(), &partial, sizeof partial);
      mine.copy_from(host);
    }
    comm_.all_gather(mine, norm_buf_);
    comm_.wait();
  }
  const Tensor gathered = norm_buf_.to(Device::cpu());
  std::vector<double> partials(static_cast<size_t>(world_));
  std::memcpy(partials.data(), gathered.raw_data(), partials.size() * sizeof(double));
  double sum = 0.0;
  for (double x : partials) sum += x;
  const double norm = std::sqrt(sum);
  if (!std::isfinite(norm)) return norm;

  // 3. Clipping, as clip_grad_norm.
  if (max_norm > 0.0) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) scale_shard(coef);
  }

  // 4. AdamW on this rank's shard, then every rank's updated shard into every rank's parameters.
  refresh_params();
  adamw_->step(lr);
  for (int64_t& t : param_step_) ++t;
  for (size_t i = 0; i < buckets_.size(); ++i)
    comm_.all_gather(flat_param_[i].view_range(rank_ * shard_numel_[i], {shard_numel_[i]}), flat_param_[i]);
  comm_.wait();
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const GradBucket& b = buckets_[i];
    for (size_t j = 0; j < b.params.size(); ++j) {
      const Tensor& value = params_[b.params[j]].value;
      value.copy_from(flat_param_[i].view_range(b.offsets[j], value.shape()));
    }
  }
  return norm;
}

std::vector<AdamWParamState> ShardedAdamW::state() {
  // Every bucket's moments: this rank's segments in place, the rest zero, then all-gathered.
  std::vector<Tensor> exp_avg, exp_avg_sq;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    exp_avg.push_back(Tensor::zeros({shard_numel_[i] * world_}, dtype_, device_));
    exp_avg_sq.push_back(Tensor::zeros({shard_numel_[i] * world_}, dtype_, device_));
  }
  std::unordered_map<std::string, size_t> segment_index;
  for (size_t s = 0; s < segment_params_.size(); ++s) segment_index.emplace(segment_params_[s].name, s);
  for (const AdamWParamState& st : adamw_->state()) {
    const Segment& seg = segments_[segment_index.at(st.name)];
    exp_avg[seg.bucket].view_range(seg.flat_offset, {seg.numel}).copy_from(st.exp_avg);
    exp_avg_sq[seg.bucket].view_range(seg.flat_offset, {seg.numel}).copy_from(st.exp_avg_sq);
  }
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const int64_t n = shard_numel_[i];
    comm_.all_gather(exp_avg[i].view_range(rank_ * n, {n}), exp_avg[i]);
    comm_.all_gather(exp_avg_sq[i].view_range(rank_ * n, {n}), exp_avg_sq[i]);
  }
  comm_.wait();

  std::vector<std::pair<size_t, int64_t>> where(params_.size());  // bucket, offset of every parameter
  for (size_t i = 0; i < buckets_.size(); ++i)
    for (size_t j = 0; j < buckets_[i].params.size(); ++j) where[buckets_[i].params[j]] = {i, buckets_[i].offsets[j]};
  std::vector<AdamWParamState> out;
  for (size_t k = 0; k < params_.size(); ++k) {
    if (param_step_[k] == 0) continue;
    const auto [bucket, offset] = where[k];
    const Shape& shape = params_[k].value.shape();
    out.push_back({params_[k].name, param_step_[k], exp_avg[bucket].view_range(offset, shape),
                   exp_avg_sq[bucket].view_range(offset, shape)});
  }
  return out;
}

void ShardedAdamW::load_state(int64_t step_count, const std::vector<AdamWParamState>& state) {
  KRAIT_CHECK(step_count >= 0, "ShardedAdamW::load_state: step_count must be >= 0, got ", step_count);
  std::unordered_map<std::string, size_t> index;
  for (size_t k = 0; k < params_.size(); ++k) index.emplace(params_[k].name, k);
  // Every entry is checked here, on every rank, whether or not this rank holds any of it.
  std::vector<const AdamWParamState*> by_param(params_.size(), nullptr);
  for (const AdamWParamState& s : state) {
    auto it = index.find(s.name);
    KRAIT_CHECK(it != index.end(), "ShardedAdamW::load_state: no parameter named '", s.name, "'");
    KRAIT_CHECK(by_param[it->second] == nullptr, "ShardedAdamW::load_state: parameter '", s.name, "' appears twice");
    KRAIT_CHECK(s.step >= 1 && s.step <= step_count, "ShardedAdamW::load_state: parameter '", s.name, "' has step ",
                s.step, ", expected 1 to ", step_count);
    const Tensor& value = params_[it->second].value;
    for (const Tensor* moment : {&s.exp_avg, &s.exp_avg_sq})
      KRAIT_CHECK(moment->defined() && moment->shape() == value.shape(), "ShardedAdamW::load_state: parameter '",
                  s.name, "' is ", value.describe(), " but a moment is ",
                  moment->defined() ? moment->describe() : std::string("missing"));
    by_param[it->second] = &s;
  }
  std::vector<AdamWParamState> shard;
  for (size_t s = 0; s < segments_.size(); ++s) {
    const Segment& seg = segments_[s];
    const AdamWParamState* full = by_param[seg.param];
    if (full == nullptr) continue;
    shard.push_back({segment_params_[s].name, full->step, full->exp_avg.view_range(seg.param_offset, {seg.numel}),
                     full->exp_avg_sq.view_range(seg.param_offset, {seg.numel})});
  }
  adamw_->load_state(step_count, shard);
  for (size_t k = 0; k < params_.size(); ++k) param_step_[k] = by_param[k] ? by_param[k]->step : 0;
}

int64_t ShardedAdamW::state_bytes() const {
  int64_t n = 0;
  for (const Segment& seg : segments_) n += seg.numel;
  return 2 * n * static_cast<int64_t>(dtype_size(dtype_));
}

int64_t ShardedAdamW::unsharded_state_bytes() const {
  int64_t n = 0;
  for (const Parameter& p : params_) n += p.value.numel();
  return 2 * n * static_cast<int64_t>(dtype_size(dtype_));
}

}  // namespace krait::train
