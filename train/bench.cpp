// train/bench.cpp — the training-step benchmark (see bench.h).
#include "train/bench.h"

#include <chrono>
#include <ostream>

#include "autograd/cuda_context.h"
#include "autograd/ops.h"
#include "common/error.h"
#include "common/rng.h"
#include "optim/adamw.h"
#include "optim/clip.h"
#include "train/data_pipeline.h"
#include "train/flops.h"

namespace krait::train {
namespace {

void wait_for(Device device) {
  if (device.is_cuda()) cuda::synchronize(device.index);
}

}  // namespace

void require_cuda_device(const std::string& what) {
#if KRAIT_HAS_CUDA
  constexpr const char* why = "this machine has none (no NVIDIA GPU or driver found)";
#else
  constexpr const char* why = "Krait was built without CUDA";
#endif
  KRAIT_CHECK(cuda_available(), what, ": needs a CUDA device, and ", why);
}

TrainBenchResult bench_train(const TrainBenchOptions& o) {
  if (o.device.is_cuda()) require_cuda_device("bench train (train.device: " + o.device.str() + ")");
  ModelSpec spec = o.model;
  if (spec.task == Task::Classify && spec.num_classes == 0) spec.num_classes = 2;
  const auto model = build_model(spec, 1, {DType::F32, o.device});
  model->set_compute_dtype(o.compute_dtype);
  model->set_recompute_layers(o.recompute_layers);
  AdamW optimizer(model->parameters(), AdamWConfig{});
  Rng rng(2);
  auto random_ids = [&](int64_t n, int64_t below) {
    std::vector<int64_t> ids(static_cast<size_t>(n));
    for (int64_t& id : ids) id = static_cast<int64_t>(rng.below(static_cast<uint64_t>(below)));
    return ids;
  };
  const Shape shape{o.micro_batch, o.seq_len};
  ModelBatch batch;
  batch.ids = Tensor::from_indices(random_ids(o.micro_batch * o.seq_len, spec.vocab_size()), shape, DType::I32, o.device);
  if (spec.task == Task::Classify) {
    batch.labels = Tensor::from_indices(random_ids(o.micro_batch, spec.num_classes), {o.micro_batch}, DType::I32, o.device);
  } else {
    batch.targets = Tensor::from_indices(random_ids(o.micro_batch * o.seq_len, spec.vocab_size()), shape,
                                         DType::I32, o.device);
  }

  auto step = [&] {
    backward(model->forward(batch).loss);
    clip_grad_norm(model->parameters(), 1.0);
    optimizer.step(1e-4);
    for (const Parameter& p : model->parameters()) p.value.zero_grad();
  };
  for (int i = 0; i < o.warmup_steps; ++i) step();
  wait_for(o.device);
  if (o.device.is_cuda()) cuda::reset_peak(o.device.index);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < o.timed_steps; ++i) step();
  wait_for(o.device);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  TrainBenchResult r;
  r.parameters = model->num_parameters();
  r.step_ms = 1e3 * seconds / o.timed_steps;
  r.tokens_per_s = double(o.micro_batch * o.seq_len) * o.timed_steps / seconds;
  if (o.device.is_cuda()) r.peak_memory_gib = double(cuda::memory_stats(o.device.index).peak_in_use) / (1 << 30);
  r.mfu = flops_per_token(spec, r.parameters, o.seq_len) * r.tokens_per_s / (o.peak_tflops * 1e12);
  return r;
}

void print_train_bench(const TrainBenchOptions& o, const TrainBenchResult& r, std::ostream& out) {
  out << "| model | compute | params | micro-batch x seq | step ms | tokens/s | peak GiB | MFU |\n"
      << "|---|---|---|---|---|---|---|---|\n"
      << "| " << o.model.backbone << " " << task_name(o.model.task) << ", d_model " << o.model.d_model() << ", "
      << o.model.n_layer() << " layers | " << dtype_name(o.compute_dtype)
      << (o.recompute_layers ? ", recompute" : "") << " | " << r.parameters << " | "
      << o.micro_batch << " x " << o.seq_len << " | " << r.step_ms << " | " << r.tokens_per_s << " | "
      << r.peak_memory_gib << " | " << 100.0 * r.mfu << "% |\n";
}

DataBenchResult bench_data(const Recipe& recipe, int64_t batches) {
  KRAIT_CHECK(batches >= 1, "bench data: --batches must be >= 1, got ", batches);
  DataBenchResult r;
  const auto opened = std::chrono::steady_clock::now();
  DataPipeline data(recipe);
  r.open_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - opened).count();
  data::Batch batch;
  const auto start = std::chrono::steady_clock::now();
  for (; r.batches < batches; ++r.batches) {
    data.train().next(batch);
    r.sequences += batch.batch_size;
    r.ids += batch.batch_size * batch.seq_len;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

void print_data_bench(const Recipe& recipe, const DataBenchResult& r, std::ostream& out) {
  char line[320];
  std::snprintf(line, sizeof line,
                "data %s (%s): opened in %.2f s; %lld batches of %lld x %lld in %.3f s: %.0f sequences/s, %.3g ids/s\n",
                recipe.data.train.c_str(), to_string(recipe.data.format), r.open_seconds, (long long)r.batches,
                (long long)recipe.micro_batch(), (long long)recipe.data.seq_len, r.seconds,
                double(r.sequences) / r.seconds, double(r.ids) / r.seconds);
  out << line;
}

#if !KRAIT_HAS_CUDA
int bench_scan(const std::string&) { KRAIT_FAIL("bench scan: Krait was built without CUDA"); }
#endif

}  // namespace krait::train
