// train/evaluate.cpp — evaluation pass (see evaluate.h).
#include "train/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "common/error.h"

namespace krait::train {
namespace {

Tensor host_i32(const std::vector<int32_t>& values, const Shape& shape, Device device) {
  Tensor t = Tensor::empty(shape, DType::I32);
  std::memcpy(t.raw_data(), values.data(), t.nbytes());
  return t.to(device);
}

// The argmax of each row of logits (..., width) over its first `classes` columns (0 = all), on the host.
std::vector<int64_t> argmax_rows(const Tensor& logits, int64_t classes = 0) {
  const Tensor host = logits.detach().to(DType::F32).to(Device::cpu());
  const int64_t width = host.size(-1), rows = host.numel() / width, n = classes > 0 ? classes : width;
  const float* p = host.data<float>();
  std::vector<int64_t> out(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i)
    out[static_cast<size_t>(i)] = std::max_element(p + i * width, p + i * width + n) - (p + i * width);
  return out;
}

// Adds each row's argmax of logits (rows, classes) to the confusion matrix against labels.
void count_predictions(const Tensor& logits, const std::vector<int32_t>& labels, EvalResult& r) {
  const std::vector<int64_t> argmax = argmax_rows(logits);
  for (size_t i = 0; i < argmax.size(); ++i) {
    const int64_t predicted = argmax[i];
    const int32_t label = labels[i];
    KRAIT_CHECK(label >= 0 && label < static_cast<int32_t>(r.confusion.size()), "evaluate: label ", label,
                " outside the ", r.confusion.size(), " classes");
    ++r.confusion[static_cast<size_t>(label)][static_cast<size_t>(predicted)];
    r.correct += predicted == label;
  }
}

// Sums the pass's routing, batch by batch, and turns it into EvalResult::Moe at the end.
class MoeTally {
 public:
  void add(const ModelOutput& out) {
    if (out.expert_loads.empty()) return;
    if (loads_.empty()) loads_.resize(out.expert_loads.size());
    KRAIT_CHECK(loads_.size() == out.expert_loads.size(), "evaluate: the MoE layers changed between batches");
    for (size_t l = 0; l < loads_.size(); ++l) {
      const Tensor load = out.expert_loads[l].load.to(Device::cpu());
      const int32_t* rows = load.data<int32_t>();
      loads_[l].resize(size_t(load.numel()), 0);
      for (int64_t e = 0; e < load.numel(); ++e) loads_[l][size_t(e)] += rows[e];
      choices_ += out.expert_loads[l].choices;
    }
    aux_sum_ += out.aux_loss.item();
    ++batches_;
  }
  EvalResult::Moe result() const {
    EvalResult::Moe m;
    m.layers = int64_t(loads_.size());
    if (loads_.empty()) return m;
    m.aux_loss = aux_sum_ / double(batches_);
    double taken = 0, sum = 0, sum_sq = 0, n = 0;
    m.load_min = INFINITY, m.load_max = 0;
    for (const std::vector<int64_t>& layer : loads_) {
      double layer_rows = 0;
      for (int64_t rows : layer) layer_rows += double(rows);
      taken += layer_rows;
      const double even = layer_rows / double(layer.size());
      for (int64_t rows : layer) {
        const double relative = even > 0 ? double(rows) / even : 0.0;
        m.load_min = std::min(m.load_min, relative), m.load_max = std::max(m.load_max, relative);
        sum += relative, sum_sq += relative * relative, n += 1;
      }
    }
    const double mean = sum / n;
    m.load_cv = mean > 0 ? std::sqrt(std::max(0.0, sum_sq / n - mean * mean)) / mean : 0.0;
    m.dropped = choices_ > 0 ? 1.0 - taken / double(choices_) : 0.0;
    return m;
  }

 private:
  std::vector<std::vector<int64_t>> loads_;  // [layer][expert] rows taken
  int64_t choices_ = 0;
  double aux_sum_ = 0;
  int64_t batches_ = 0;
};

}  // namespace

double EvalResult::perplexity() const { return std::exp(loss); }
double EvalResult::bits_per_token() const { return loss / std::log(2.0); }
double EvalResult::accuracy() const { return count > 0 ? double(correct) / double(count) : 0.0; }

ModelBatch to_device(const data::Batch& batch, Device device) {
  const Shape shape{batch.batch_size, batch.seq_len};
  ModelBatch out;
  out.ids = host_i32(batch.inputs, shape, device);
  if (!batch.targets.empty()) out.targets = host_i32(batch.targets, shape, device);
  if (!batch.labels.empty()) out.labels = host_i32(batch.labels, {batch.batch_size}, device);
  if (!batch.lengths.empty()) out.lengths = host_i32(batch.lengths, {batch.batch_size}, device);
  return out;
}

EvalResult evaluate(const Model& model, data::EvalPass& pass, int64_t num_classes, Device device,
                    bool token_accuracy) {
  NoGradGuard no_grad;
  EvalResult r;
  r.task = model.task();
  if (r.task == Task::Classify)
    r.confusion.assign(static_cast<size_t>(num_classes), std::vector<int64_t>(static_cast<size_t>(num_classes), 0));
  pass.reset();
  data::Batch batch;
  double nll_sum = 0;
  MoeTally moe;
  while (pass.next(batch)) {
    const ModelOutput out = model.forward(to_device(batch, device), ops::Reduction::Sum);
    nll_sum += out.loss.item();
    moe.add(out);
    if (r.task == Task::Classify) {
      count_predictions(out.logits, batch.labels, r);
      r.count += batch.batch_size;
    } else {
      r.count += std::count_if(batch.targets.begin(), batch.targets.end(), [](int32_t t) { return t != data::kIgnoreId; });
      if (token_accuracy) {
        const std::vector<int64_t> argmax = argmax_rows(out.logits, out.classes);
        for (size_t i = 0; i < argmax.size(); ++i)
          r.correct += batch.targets[i] != data::kIgnoreId && argmax[i] == batch.targets[i];
      }
    }
  }
  KRAIT_CHECK(r.count > 0, "evaluation: the validation set holds no window of data.seq_len");
  r.loss = nll_sum / static_cast<double>(r.count);
  r.moe = moe.result();
  return r;
}

// The sums travel as one tensor: f64 on the CPU, f32 on CUDA (NCCL's collectives here take f32; the
// counts stay exact below 2^24 per cell, the summed loss keeps seven digits).
void sum_over_ranks(EvalResult& r, dist::Communicator& comm, Device device) {
  std::vector<double> values{r.loss * double(r.count), double(r.count), double(r.correct)};
  for (const auto& row : r.confusion) values.insert(values.end(), row.begin(), row.end());
  const DType dtype = device.is_cpu() ? DType::F64 : DType::F32;
  const Tensor sums = Tensor::from_vector(values, {static_cast<int64_t>(values.size())}, dtype, device);
  comm.all_reduce_sum(sums);
  comm.wait();
  const std::vector<double> total = sums.to_doubles();
  r.count = static_cast<int64_t>(std::llround(total[1]));
  r.loss = r.count > 0 ? total[0] / double(r.count) : 0.0;
  r.correct = static_cast<int64_t>(std::llround(total[2]));
  size_t k = 3;
  for (auto& row : r.confusion)
    for (int64_t& cell : row) cell = static_cast<int64_t>(std::llround(total[k++]));
}

std::string format_confusion(const EvalResult& r, const std::vector<std::string>& names) {
  const size_t n = r.confusion.size();
  auto name = [&](size_t i) { return i < names.size() ? names[i] : "class " + std::to_string(i); };
  size_t width = 6;
  for (size_t i = 0; i < n; ++i) width = std::max(width, name(i).size());
  for (const auto& row : r.confusion)
    for (int64_t v : row) width = std::max(width, std::to_string(v).size());
  std::ostringstream out;
  auto cell = [&](const std::string& text) { out << std::string(width + 2 - text.size(), ' ') << text; };
  out << std::string(width, ' ') << "  (rows: true class; columns: predicted)\n";
  cell("");
  for (size_t j = 0; j < n; ++j) cell(name(j));
  cell("recall");
  out << "\n";
  for (size_t i = 0; i < n; ++i) {
    cell(name(i));
    int64_t total = 0;
    for (size_t j = 0; j < n; ++j) {
      cell(std::to_string(r.confusion[i][j]));
      total += r.confusion[i][j];
    }
    char recall[16];
    std::snprintf(recall, sizeof recall, "%.1f%%", total > 0 ? 100.0 * double(r.confusion[i][i]) / double(total) : 0.0);
    cell(recall);
    out << "\n";
  }
  return out.str();
}

}  // namespace krait::train
