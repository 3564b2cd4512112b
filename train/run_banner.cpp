// train/run_banner.cpp — the banner and end summary of `krait train` (see run_banner.h).
#include "train/run_banner.h"

#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "train/flops.h"
#include "train/generate.h"
#include "train/metrics_log.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace krait::train {
namespace {

// 1234567 -> "1,234,567" (counts are never negative).
std::string grouped(int64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// A loss as the progress lines write it.
std::string fixed4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

// Whether `krait generate` takes the model (its one check says why not).
bool can_generate(const ModelSpec& spec) {
  try {
    check_can_generate(spec, "");
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

void print_banner(const Recipe& r, const Model& model, const DataPipeline& data, int world_size,
                  const RunStart& start, std::ostream& out) {
  const int64_t params = model.num_parameters();
  out << "model:    " << r.model.backbone << " " << task_name(r.model.task) << ", d_model " << r.model.d_model()
      << " x " << r.model.n_layer() << " layers, " << grouped(params) << " parameters ("
      << grouped(params - embedding_parameters(r.model)) << " non-embedding)";
  if (start.frozen_tensors > 0) out << ", " << start.frozen_tensors << " tensors frozen by train.freeze";
  out << "\n"
      << "device:   " << r.train.device << ", " << to_string(r.train.precision) << "\n"
      << "data:     " << data.describe() << "\n"
      << "batch:    global batch " << r.data.batch_size << " x " << r.data.seq_len << " = "
      << grouped(r.tokens_per_step()) << " tokens per step = micro-batch " << r.micro_batch(world_size)
      << " x accumulation " << r.grad_accum(world_size) << " x " << world_size
      << (world_size == 1 ? " rank" : " ranks") << "\n"
      << "schedule: " << grouped(r.total_steps()) << " steps, " << grouped(r.total_steps() * r.tokens_per_step())
      << " tokens; lr " << r.optim.lr << " peak, " << r.schedule.warmup_steps << " warmup steps, "
      << lr_decay_name(r.schedule.decay) << " decay to " << r.schedule.min_lr << "\n"
      << "run:      " << r.train.run_dir << ", ";
  if (start.resumed_from)
    out << "resuming from " << *start.resumed_from << " at step " << start.step << "\n";
  else if (!r.train.init_from.empty())
    out << "fresh, initialized from " << r.train.init_from << "\n";
  else
    out << "fresh\n";
}

void print_run_end(const Recipe& r, const TrainSummary& s, std::ostream& out) {
  out << "done: step " << s.last_step;
  if (s.last_step > s.first_step) out << ", train loss " << fixed4(s.final_train_loss);  // none trained: none
  if (!std::isnan(s.final_eval_loss)) out << ", valid loss " << fixed4(s.final_eval_loss);
  if (!std::isnan(s.final_eval_accuracy)) out << ", valid accuracy " << fixed4(100 * s.final_eval_accuracy) << "%";
  out << "; run directory " << r.train.run_dir << "\n";
  const int64_t trained = (s.last_step - s.first_step) * r.tokens_per_step();
  out << "  " << grouped(s.last_step * r.tokens_per_step()) << " tokens; this process: " << grouped(trained)
      << " tokens in " << format_duration(s.wall_s) << " ("
      << grouped(std::llround(s.wall_s > 0 ? double(trained) / s.wall_s : 0.0)) << " tokens/s)\n";
  const std::string checkpoint = checkpoint_path(r.train.run_dir, s.last_step);
  out << "  checkpoint: " << checkpoint << "\n"
      << "  next: krait eval --checkpoint " << checkpoint << "\n"
      << "        krait-plot " << r.train.run_dir << "/metrics.jsonl -o loss.svg\n";
  if (can_generate(r.model))
    out << "        krait generate --checkpoint " << checkpoint << " --prompt \"In the beginning\"\n";
}

}  // namespace krait::train
