// train/bench_generate.cpp — the generation benchmark (see bench_generate.h).
#include "train/bench_generate.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ostream>
#include <vector>

#include "autograd/cuda_context.h"
#include "autograd/ops.h"
#include "autograd/tape.h"
#include "common/error.h"
#include "common/rng.h"
#include "layers/generator.h"
#include "layers/model.h"
#include "layers/model_spec.h"
#include "train/bench.h"

namespace krait::train {
namespace {

using Clock = std::chrono::steady_clock;

void wait_for(Device device) {
  if (device.is_cuda()) cuda::synchronize(device.index);
}
double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

struct Timing {
  double prefill_ms = 0, steps_ms = 0;
};

// One generation: the prompts' prefill and its greedy token, then new_tokens - 1 steps, each fed the
// previous token on the device.
Timing generate_once(const Model& model, const Tensor& prompts, int64_t vocab, int64_t new_tokens, Device device) {
  const std::unique_ptr<Generator> generator = model.generator(prompts.size(0));
  wait_for(device);
  const Clock::time_point start = Clock::now();
  Tensor next = ops::argmax_rows(generator->prefill(prompts), vocab);
  wait_for(device);
  const Clock::time_point prefilled = Clock::now();
  for (int64_t i = 1; i < new_tokens; ++i) next = ops::argmax_rows(generator->step(next), vocab);
  wait_for(device);
  return {ms_between(start, prefilled), ms_between(prefilled, Clock::now())};
}

}  // namespace

GenerateBenchResult bench_generate(const GenerateBenchOptions& o) {
  if (o.device.is_cuda()) require_cuda_device("bench generate (train.device: " + o.device.str() + ")");
  KRAIT_CHECK(o.model.task == Task::LM, "bench generate: needs a language model (task: lm), got ",
              task_name(o.model.task));
  KRAIT_CHECK(o.batch >= 1 && o.prompt_len >= 1 && o.new_tokens >= 2 && o.repeats >= 1,
              "bench generate: needs batch >= 1, prompt length >= 1, new tokens >= 2 and repeats >= 1");
  const auto model = build_model(o.model, 1, {DType::F32, o.device});
  model->set_compute_dtype(o.compute_dtype);
  KRAIT_CHECK(model->generator(1), "bench generate: a ", o.model.backbone, " model has no recurrent generation");
  Rng rng(3);
  std::vector<int64_t> ids(static_cast<size_t>(o.batch * o.prompt_len));
  for (int64_t& id : ids) id = static_cast<int64_t>(rng.below(static_cast<uint64_t>(o.model.vocab_size())));
  const Tensor prompts = Tensor::from_indices(ids, {o.batch, o.prompt_len}, DType::I32, o.device);

  NoGradGuard no_grad;
  generate_once(*model, prompts, o.model.vocab_size(), o.new_tokens, o.device);  // warm-up: the allocator's cache
  if (o.device.is_cuda()) cuda::reset_peak(o.device.index);
  std::vector<Timing> runs;
  for (int i = 0; i < o.repeats; ++i) runs.push_back(generate_once(*model, prompts, o.model.vocab_size(), o.new_tokens, o.device));
  std::sort(runs.begin(), runs.end(),
            [](const Timing& a, const Timing& b) { return a.prefill_ms + a.steps_ms < b.prefill_ms + b.steps_ms; });
  const Timing median = runs[runs.size() / 2];

  GenerateBenchResult r;
  r.parameters = model->num_parameters();
  r.prefill_ms = median.prefill_ms;
  r.step_ms = median.steps_ms / double(o.new_tokens - 1);
  r.total_ms = median.prefill_ms + median.steps_ms;
  r.tokens_per_s = double(o.batch * o.new_tokens) / (r.total_ms / 1e3);
  r.decode_tokens_per_s = double(o.batch) / (r.step_ms / 1e3);
  if (o.device.is_cuda()) r.peak_memory_gib = double(cuda::memory_stats(o.device.index).peak_in_use) / (1 << 30);
  return r;
}

void print_generate_bench(const GenerateBenchOptions& o, const GenerateBenchResult& r, std::ostream& out) {
  char line[512];
  std::snprintf(line, sizeof line,
                "krait generate: %s %.1fM parameters, %s on %s, batch %lld, prompt %lld, %lld new tokens "
                "(median of %d): prefill %.2f ms, step %.3f ms, total %.1f ms; %.0f tokens/s end to end, "
                "%.0f tokens/s decoding; peak %.2f GiB\n",
                o.model.backbone.c_str(), double(r.parameters) / 1e6, dtype_name(o.compute_dtype),
                o.device.str().c_str(), static_cast<long long>(o.batch), static_cast<long long>(o.prompt_len),
                static_cast<long long>(o.new_tokens), o.repeats, r.prefill_ms, r.step_ms, r.total_ms, r.tokens_per_s,
                r.decode_tokens_per_s, r.peak_memory_gib);
  out << line;
}

}  // namespace krait::train
