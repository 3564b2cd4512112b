// train/trainer.cpp — the training loop (see trainer.h).
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <ostream>

#include "common/error.h"
#include "optim/clip.h"
#include "train/checkpoint_file.h"
#include "train/evaluate.h"
#include "train/metrics_log.h"
#include "train/run_dir.h"

namespace krait::train {
namespace {

AdamWConfig adamw_config(const OptimSection& o) {
  AdamWConfig c;
  c.lr = o.lr;
  c.beta1 = o.beta1;
  c.beta2 = o.beta2;
  c.eps = o.eps;
  c.weight_decay = o.weight_decay;
  return c;
}

LrSchedule lr_schedule(const Recipe& r) {
  LrSchedule s;
  s.peak_lr = r.optim.lr;
  s.min_lr = r.schedule.min_lr;
  s.warmup_steps = r.schedule.warmup_steps;
  s.total_steps = r.total_steps();
  s.decay = r.schedule.decay;
  s.validate();
  return s;
}

// Fails early, with the recipe key, for what this build cannot run yet.
Device checked_device(const Recipe& r) {
  const Device device = r.device();
  KRAIT_CHECK(device.is_cpu() || cuda_available(), "train.device: '", r.train.device,
              "' but this machine has no CUDA device (or Krait was built without CUDA)");
  KRAIT_CHECK(r.train.precision == Precision::FP32 || device.is_cuda(), "train.precision: bf16 mixed precision "
              "needs a CUDA device; use fp32 on the cpu");
  return device;
}

std::unique_ptr<data::TokenSource> open_checked(const std::string& path, const char* key,
                                                const MambaConfig& model) {
  auto source = data::open_tokens(path);
  KRAIT_CHECK(source->vocab_size() <= model.vocab_size, key, ": '", path,
              "' holds token ids up to ", source->vocab_size() - 1, " but model.vocab_size is ",
              model.vocab_size);
  return source;
}

bool finite(double v) { return std::isfinite(v); }

}  // namespace

Trainer::Trainer(const Recipe& recipe, std::ostream& progress)
    : recipe_(recipe),
      progress_(progress),
      device_(checked_device(recipe)),
      model_(recipe.model, static_cast<uint64_t>(recipe.train.seed), {DType::F32, device_}),
      optimizer_(model_.parameters(), adamw_config(recipe.optim)),
      schedule_(lr_schedule(recipe)),
      train_source_(open_checked(recipe.data.train, "data.train", recipe.model)),
      valid_source_(recipe.data.valid.empty()
                        ? nullptr
                        : open_checked(recipe.data.valid, "data.valid", recipe.model)),
      batcher_(*train_source_, recipe.micro_batch(), recipe.data.seq_len,
               static_cast<uint64_t>(recipe.train.seed)),
      last_eval_loss_(std::numeric_limits<double>::quiet_NaN()) {
  if (recipe.train.precision == Precision::BF16) model_.set_compute_dtype(DType::BF16);
  const std::string& run_dir = recipe.train.run_dir;
  std::filesystem::create_directories(run_dir);
  remove_stale_temp_files(run_dir);
  const auto latest = latest_checkpoint(run_dir);
  if (latest) resume_from(*latest);
  metrics_ = std::make_unique<MetricsLog>(run_dir + "/metrics.jsonl", latest ? step_ : -1);
  write_resolved_recipe(recipe_, run_dir + "/recipe.yaml");
}

Trainer::~Trainer() = default;

void Trainer::resume_from(const std::string& path) {
  CheckpointReader ckpt(path);
  for (const Parameter& p : model_.parameters()) ckpt.read_into("model/" + p.name, p.value);
  // Parameters the optimizer never updated have no saved moments.
  std::vector<AdamWParamState> state;
  for (const Parameter& p : model_.parameters()) {
    if (!ckpt.has("optim/step/" + p.name)) continue;
    state.push_back({p.name, ckpt.get_int("optim/step/" + p.name), ckpt.tensor("optim/exp_avg/" + p.name),
                     ckpt.tensor("optim/exp_avg_sq/" + p.name)});
  }
  optimizer_.load_state(ckpt.get_int("optim/step_count"), state);
  step_ = ckpt.get_int("state/step");
  tokens_seen_ = ckpt.get_int("state/tokens_seen");
  nonfinite_skips_ = ckpt.get_int("state/nonfinite_skips");
  const std::vector<uint64_t> words = ckpt.get_u64s("state/data_rng");
  KRAIT_CHECK(words.size() == 6, "checkpoint '", path, "': state/data_rng has ", words.size(),
              " words, expected 6");
  data::RandomBatcherState data_state;
  std::copy(words.begin(), words.begin() + 4, data_state.rng.words.begin());
  data_state.rng.has_spare = words[4] != 0;
  std::memcpy(&data_state.rng.spare, &words[5], sizeof(double));
  data_state.batches_drawn = ckpt.get_int("state/batches_drawn");
  batcher_.set_state(data_state);
  progress_ << "resuming from " << path << " at step " << step_ << "\n";
}

void Trainer::save_checkpoint() {
  CheckpointWriter ckpt;
  for (const Parameter& p : model_.parameters()) ckpt.put_tensor("model/" + p.name, p.value);
  for (const AdamWParamState& s : optimizer_.state()) {
    ckpt.put_int("optim/step/" + s.name, s.step);
    ckpt.put_tensor("optim/exp_avg/" + s.name, s.exp_avg);
    ckpt.put_tensor("optim/exp_avg_sq/" + s.name, s.exp_avg_sq);
  }
  ckpt.put_int("optim/step_count", optimizer_.step_count());
  ckpt.put_int("state/step", step_);
  ckpt.put_int("state/tokens_seen", tokens_seen_);
  ckpt.put_int("state/nonfinite_skips", nonfinite_skips_);
  const data::RandomBatcherState data_state = batcher_.state();
  std::vector<uint64_t> words(data_state.rng.words.begin(), data_state.rng.words.end());
  uint64_t spare_bits;
  std::memcpy(&spare_bits, &data_state.rng.spare, sizeof spare_bits);
  words.push_back(data_state.rng.has_spare ? 1 : 0);
  words.push_back(spare_bits);
  ckpt.put_u64s("state/data_rng", words);
  ckpt.put_int("state/batches_drawn", static_cast<int64_t>(data_state.batches_drawn));
  ckpt.put_string("recipe", to_yaml(recipe_));
  ckpt.write(checkpoint_path(recipe_.train.run_dir, step_));
  prune_checkpoints(recipe_.train.run_dir, static_cast<int>(recipe_.train.keep_checkpoints));
}

// One optimizer step over grad_accum micro-batches; returns the mean loss, or NaN/inf as found.
double Trainer::train_step(double lr, double& grad_norm) {
  const int64_t accum = recipe_.grad_accum();
  data::Batch batch;
  Tensor loss_sum;  // summed where the loss is, so the host reads it once per step, not per micro-batch
  for (int64_t micro = 0; micro < accum; ++micro) {
    batcher_.next(batch);
    const auto [ids, targets] = batch_tensors(batch, device_);
    const Tensor loss = model_.loss(ids, targets);
    backward(ops::scale(loss, 1.0 / static_cast<double>(accum)));
    NoGradGuard no_grad;
    loss_sum = loss_sum.defined() ? ops::add(loss_sum, loss.detach()) : loss.detach();
  }
  const double loss = loss_sum.item() / static_cast<double>(accum);
  const ParameterList& params = model_.parameters();
  grad_norm = recipe_.optim.grad_clip > 0 ? clip_grad_norm(params, recipe_.optim.grad_clip)
                                          : global_grad_norm(params);
  if (finite(loss) && finite(grad_norm)) optimizer_.step(lr);
  for (const Parameter& p : params) p.value.zero_grad();
  return finite(grad_norm) ? loss : std::numeric_limits<double>::quiet_NaN();
}

void Trainer::log_progress(double loss, double lr, double grad_norm, double elapsed,
                           double tokens_per_s) {
  const int64_t total = recipe_.total_steps();
  const double eta =
      tokens_per_s > 0 ? (total - step_) * recipe_.tokens_per_step() / tokens_per_s : NAN;
  char line[256];
  std::snprintf(
      line, sizeof line,
      "step %6lld/%lld | loss %.4f | lr %.2e | grad %.3f | %.0f tok/s | %s elapsed | ETA %s",
      (long long)step_, (long long)total, loss, lr, grad_norm, tokens_per_s,
      format_duration(elapsed).c_str(), format_duration(eta).c_str());
  progress_ << line << "\n" << std::flush;
}

void Trainer::maybe_evaluate(bool force) {
  if (!valid_source_) return;
  const int64_t every = recipe_.train.eval_interval;
  if (!force && (every <= 0 || step_ % every != 0)) return;
  const EvalResult r = evaluate(model_, *valid_source_, recipe_.eval_batch_size(),
                                recipe_.data.seq_len, recipe_.eval.max_batches, device_);
  last_eval_loss_ = r.loss;
  metrics_->write("eval", step_,
                  {{"tokens", double(tokens_seen_)},
                   {"loss", r.loss},
                   {"ppl", r.perplexity()},
                   {"bpb", r.bits_per_token()},
                   {"eval_tokens", double(r.tokens)}});
  char line[160];
  std::snprintf(line, sizeof line,
                "eval  step %6lld | loss %.4f | ppl %.2f | %.3f bits/token (%lld tokens)",
                (long long)step_, r.loss, r.perplexity(), r.bits_per_token(), (long long)r.tokens);
  progress_ << line << "\n" << std::flush;
}

TrainSummary Trainer::run() {
  TrainSummary summary;
  summary.first_step = step_;
  const int64_t total = recipe_.total_steps();
  const auto start = std::chrono::steady_clock::now();
  int64_t tokens_at_start = tokens_seen_;
  double last_loss = NAN;
  while (step_ < total) {
    const double lr = schedule_.lr_at(step_);
    double grad_norm = 0;
    const double loss = train_step(lr, grad_norm);
    if (!finite(loss)) {
      KRAIT_CHECK(recipe_.train.on_nonfinite == OnNonFinite::Skip, "step ", step_ + 1,
                  ": the loss or gradient is ", "not finite (loss ", loss, ", gradient norm ",
                  grad_norm,
                  "); stopping. Lower optim.lr, or set "
                  "train.on_nonfinite: skip to skip such steps");
      ++nonfinite_skips_;
      KRAIT_CHECK(
          nonfinite_skips_ <= recipe_.train.max_nonfinite_skips, "step ", step_ + 1, ": ",
          nonfinite_skips_,
          " steps skipped for non-finite loss or gradients, more than train.max_nonfinite_skips = ",
          recipe_.train.max_nonfinite_skips);
      progress_ << "step " << step_ + 1 << ": non-finite loss or gradient, update skipped\n";
    }
    ++step_;
    tokens_seen_ += recipe_.tokens_per_step();
    last_loss = loss;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double tokens_per_s = elapsed > 0 ? double(tokens_seen_ - tokens_at_start) / elapsed : 0;
    metrics_->write("train", step_,
                    {{"tokens", double(tokens_seen_)},
                     {"loss", loss},
                     {"lr", lr},
                     {"grad_norm", grad_norm},
                     {"tokens_per_s", tokens_per_s},
                     {"elapsed_s", elapsed}});
    if (step_ % std::max<int64_t>(recipe_.train.log_interval, 1) == 0 || step_ == total ||
        step_ == 1)
      log_progress(loss, lr, grad_norm, elapsed, tokens_per_s);
    maybe_evaluate(step_ == total);
    const int64_t every = recipe_.train.checkpoint_interval;
    if (step_ == total || (every > 0 && step_ % every == 0)) save_checkpoint();
  }
  summary.last_step = step_;
  summary.final_train_loss = last_loss;
  summary.final_eval_loss = last_eval_loss_;
  summary.nonfinite_skips = nonfinite_skips_;
  return summary;
}

}  // namespace krait::train
