// train/trainer.cpp — the training loop (see trainer.h).
#include "train/trainer.h"

#include <signal.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <ostream>
#include <set>

#include "common/error.h"
#include "optim/clip.h"
#include "train/checkpoint_file.h"
#include "train/communicator_exchange.h"
#include "train/evaluate.h"
#include "train/grad_sync.h"
#include "train/metrics_log.h"
#include "train/pretrained.h"
#include "train/rank_shards.h"
#include "train/run_banner.h"
#include "train/run_dir.h"
#include "train/run_lock.h"
#include "train/run_summary.h"
#include "train/stop_signal.h"
#include "train/zero1.h"

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

bool finite(double v) { return std::isfinite(v); }


void print_names(std::ostream& out, const char* what, const std::vector<std::string>& names) {
  out << "  " << what << " (" << names.size() << ")";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i == 12) {
      out << " ...";
      break;
    }
    out << (i ? ", " : ": ") << names[i];
  }
  out << "\n";
}

}  // namespace

ModelSpec resolve_model(const Recipe& recipe, const DataPipeline& data) {
  ModelSpec spec = recipe.model;
  KRAIT_CHECK(data.vocab_size() <= static_cast<uint32_t>(spec.vocab_size()), "data: '", recipe.data.train,
              "' holds ids up to ", data.vocab_size() - 1, " but model.vocab_size is ", spec.vocab_size());
  if (spec.task != Task::Classify) return spec;
  const int64_t classes = static_cast<int64_t>(data.class_names().size());
  KRAIT_CHECK(classes >= 2, "task: classify, but '", recipe.data.train, "' has ", classes,
              " classes; give labels (a manifest, folder names, or a labeled prepared dataset)");
  KRAIT_CHECK(spec.num_classes == 0 || spec.num_classes == classes, "model.num_classes is ", spec.num_classes,
              " but '", recipe.data.train, "' has ", classes, " classes");
  spec.num_classes = classes;
  return spec;
}

Trainer::Trainer(const Recipe& recipe, std::ostream& progress, dist::Communicator* comm,
                 RecipeChangePolicy changes)
    : own_comm_(comm ? nullptr : dist::make_single_rank_communicator()),
      comm_(comm ? *comm : *own_comm_),
      recipe_(recipe),
      progress_(progress),
      device_(checked_device(recipe)),
      data_(std::make_unique<DataPipeline>(recipe, DataPipeline::Open::TrainAndValid, comm_.rank(), comm_.world_size())),
      schedule_(lr_schedule(recipe)),
      last_eval_loss_(std::numeric_limits<double>::quiet_NaN()),
      last_eval_accuracy_(std::numeric_limits<double>::quiet_NaN()) {
  const int world = comm_.world_size();
  recipe_.validate(world);
  recipe_.model = resolve_model(recipe, *data_);
  if (recipe_.model.mamba.moe.expert_parallel && world > 1) {  // the recipe refused train.zero1 with it
    KRAIT_CHECK(recipe.train.init_from.empty(), "model.moe_expert_parallel with train.init_from is not supported "
                "yet; start from the checkpoint on one rank, or without expert parallelism");
    exchange_ = std::make_shared<CommunicatorExchange>(comm_);
  }
  model_ = build_model(recipe_.model, static_cast<uint64_t>(recipe.train.seed), {DType::F32, device_}, exchange_);
  if (recipe.train.precision == Precision::BF16) model_->set_compute_dtype(DType::BF16);
  model_->set_recompute_layers(recipe.train.recompute);
  std::vector<std::string> frozen;
  trainable_ = freeze_parameters(model_->parameters(), recipe.train.freeze, frozen);
  if (recipe.train.zero1) {
    sharded_ = std::make_unique<ShardedAdamW>(comm_, trainable_, adamw_config(recipe.optim), recipe.train.bucket_mb << 20);
  } else {
    optimizer_ = std::make_unique<AdamW>(trainable_, adamw_config(recipe.optim));
    // A communicator given for a world of one (NCCL, to check that path) is used all the same.
    // Rank-sharded gradients are whole on their rank already: only the replicated ones are all-reduced.
    if (comm != nullptr)
      grad_sync_ = std::make_unique<GradSync>(comm_, replicated_parameters(trainable_), recipe.train.bucket_mb << 20);
  }

  const std::string& run_dir = recipe.train.run_dir;
  if (writes()) {
    lock_ = std::make_unique<RunDirLock>(run_dir);
    check_checkpoint_dir_writable(run_dir);
    remove_stale_temp_files(run_dir);
  }
  check_valid_set();
  const auto latest = resume_from_newest_readable(changes);
  if (!latest && !recipe.train.init_from.empty()) start_from_pretrained();
  print_banner(recipe_, *model_, *data_, world, {latest, step_, static_cast<int64_t>(frozen.size())}, progress_);
  if (sharded_)
    progress_ << "ZeRO-1: this rank holds " << sharded_->state_bytes() / (1 << 20) << " MiB of AdamW state of "
              << sharded_->unsharded_state_bytes() / (1 << 20) << " MiB\n";
  if (!writes()) return;
  metrics_ = std::make_unique<MetricsLog>(run_dir + "/metrics.jsonl", latest ? step_ : -1);
  write_resolved_recipe(recipe_, run_dir + "/recipe.yaml", recipe_history_note(run_dir));
}

void Trainer::start_from_pretrained() {
  const InitReport r = init_from_checkpoint(model_->parameters(), recipe_.train.init_from);
  progress_ << "initialized from " << r.checkpoint << ":\n";
  print_names(progress_, "loaded", r.loaded);
  print_names(progress_, "new", r.fresh);
  print_names(progress_, "ignored", r.ignored);
}

Trainer::~Trainer() = default;

void Trainer::check_valid_set() {
  if (!data_->has_valid()) return;
  data::Batch probe;
  KRAIT_CHECK(data_->valid_pass(recipe_.eval_batch_size(comm_.world_size()), recipe_.eval.max_batches)->next(probe),
              "data.valid: '", recipe_.data.valid, "' holds no window of data.seq_len = ", recipe_.data.seq_len,
              comm_.world_size() > 1 ? " for every rank" : "",
              " (found before training rather than at the first evaluation); give a longer validation set or "
              "a shorter data.seq_len");
}

// Each checkpoint fully replaces the model, optimizer and data state, so one that fails halfway
// leaves nothing behind once an older one loads.
// A checkpoint's recipe is compared with this run's before its state is loaded (recipe_change.h): a refused
// change stops the run rather than skip to an older checkpoint.
std::optional<std::string> Trainer::resume_from_newest_readable(RecipeChangePolicy changes) {
  const std::vector<CheckpointFile> checkpoints = list_checkpoints(recipe_.train.run_dir);
  const auto skip = [&](const std::string& path, const Error& e) {
    progress_ << "skipping checkpoint " << path << ": cannot resume from it: " << e.what() << "\n";
  };
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    std::string trained_with;
    int64_t step = 0;
    try {
      const CheckpointReader ckpt(it->path);
      trained_with = ckpt.get_string("recipe");
      step = ckpt.get_int("state/step");
    } catch (const Error& e) {
      skip(it->path, e);
      continue;
    }
    const std::vector<RecipeChange> changed =
        check_resumed_recipe(recipe_, trained_with, it->path, step, comm_.world_size(), changes);
    try {
      resume_from(it->path);
    } catch (const Error& e) {
      skip(it->path, e);
      continue;
    }
    if (!changed.empty()) record_recipe_changes(trained_with, changed);
    return it->path;
  }
  KRAIT_CHECK(checkpoints.empty(), "none of the ", checkpoints.size(), " checkpoints in ",
              checkpoint_dir(recipe_.train.run_dir), " can be resumed from (reasons above); move them aside "
              "to start the run over");
  return std::nullopt;
}

// Says what changed on resume; rank 0 records it before recipe.yaml is rewritten.
void Trainer::record_recipe_changes(const std::string& trained_with, const std::vector<RecipeChange>& changed) {
  progress_ << "recipe changed on resume at step " << step_ << ": " << describe(changed);
  if (writes())
    progress_ << "; the recipe used so far: " << record_recipe_change(recipe_.train.run_dir, step_, trained_with, changed);
  progress_ << "\n";
}

void Trainer::resume_from(const std::string& path) {
  CheckpointReader ckpt(path);
  const int rank = comm_.rank(), world = comm_.world_size();
  // A rank-sharded parameter takes its rows of the whole tensor the checkpoint holds.
  const auto own = [&](const Parameter& p, const Tensor& whole) {
    return p.tags.rank_shard ? rank_rows(whole, rank, world) : whole;
  };
  for (const Parameter& p : model_->parameters()) {
    if (!p.tags.rank_shard) {
      ckpt.read_into("model/" + p.name, p.value);
      continue;
    }
    const Tensor rows = rank_rows(ckpt.tensor("model/" + p.name), rank, world);
    KRAIT_CHECK(rows.shape() == p.value.shape(), "checkpoint '", path, "': model/", p.name, " gives rank ", rank,
                " rows ", rows.describe(), " for ", p.value.describe());
    p.value.copy_from(rows.to(p.value.dtype()).to(p.value.device()));
  }
  // Parameters the optimizer never updated (or frozen ones) have no saved moments.
  std::vector<AdamWParamState> state;
  for (const Parameter& p : trainable_) {
    if (!ckpt.has("optim/step/" + p.name)) continue;
    state.push_back({p.name, ckpt.get_int("optim/step/" + p.name), own(p, ckpt.tensor("optim/exp_avg/" + p.name)),
                     own(p, ckpt.tensor("optim/exp_avg_sq/" + p.name))});
  }
  if (sharded_) {
    sharded_->load_state(ckpt.get_int("optim/step_count"), state);
  } else {
    optimizer_->load_state(ckpt.get_int("optim/step_count"), state);
  }
  step_ = ckpt.get_int("state/step");
  tokens_seen_ = ckpt.get_int("state/tokens_seen");
  nonfinite_skips_ = ckpt.get_int("state/nonfinite_skips");
  const std::vector<uint64_t> words = ckpt.get_u64s("state/data_rng");
  KRAIT_CHECK(words.size() == 6, "checkpoint '", path, "': state/data_rng has ", words.size(),
              " words, expected 6");
  data::SamplerState data_state;
  std::copy(words.begin(), words.begin() + 4, data_state.rng.words.begin());
  data_state.rng.has_spare = words[4] != 0;
  std::memcpy(&data_state.rng.spare, &words[5], sizeof(double));
  data_state.batches_drawn = ckpt.get_int("state/batches_drawn");
  data_->train().set_state(data_state);
}

void Trainer::save_checkpoint() {
  // Gathering the sharded state is a collective: every rank takes part, rank 0 alone writes. A
  // checkpoint holds whole tensors, whatever the sharding (it resumes on any number of ranks).
  std::vector<AdamWParamState> optim_state = sharded_ ? sharded_->state() : optimizer_->state();
  std::vector<Tensor> values;
  std::set<std::string> shards;
  for (const Parameter& p : model_->parameters()) {
    values.push_back(p.tags.rank_shard ? gather_rows(p.value, comm_) : p.value);
    if (p.tags.rank_shard) shards.insert(p.name);
  }
  for (AdamWParamState& s : optim_state) {
    if (!shards.count(s.name)) continue;
    s.exp_avg = gather_rows(s.exp_avg, comm_);
    s.exp_avg_sq = gather_rows(s.exp_avg_sq, comm_);
  }
  if (!writes()) return;
  CheckpointWriter ckpt;
  for (size_t i = 0; i < values.size(); ++i) ckpt.put_tensor("model/" + model_->parameters()[i].name, values[i]);
  for (const AdamWParamState& s : optim_state) {
    ckpt.put_int("optim/step/" + s.name, s.step);
    ckpt.put_tensor("optim/exp_avg/" + s.name, s.exp_avg);
    ckpt.put_tensor("optim/exp_avg_sq/" + s.name, s.exp_avg_sq);
  }
  ckpt.put_int("optim/step_count", sharded_ ? sharded_->step_count() : optimizer_->step_count());
  ckpt.put_int("state/step", step_);
  ckpt.put_int("state/tokens_seen", tokens_seen_);
  ckpt.put_int("state/nonfinite_skips", nonfinite_skips_);
  const data::SamplerState data_state = data_->train().state();
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
  const int world = comm_.world_size();
  const int64_t accum = recipe_.grad_accum(world);
  // Each rank's micro-batch loss is a mean over its rows; scaled by 1 / (accum x world), the
  // gradients summed over the ranks are the mean over the global batch.
  const double scale = 1.0 / static_cast<double>(accum * world);
  data::Batch batch;
  Tensor loss_sum;  // summed where the loss is, so the host reads it once per step, not per micro-batch
  for (int64_t micro = 0; micro < accum; ++micro) {
    data_->train().next(batch);
    const Tensor loss = model_->forward(to_device(batch, device_)).loss;
    if (micro == accum - 1) {  // reduce buckets during the last backward
      if (grad_sync_) grad_sync_->arm();
      if (sharded_) sharded_->arm();
    }
    backward(ops::scale(loss, scale));
    NoGradGuard no_grad;
    loss_sum = loss_sum.defined() ? ops::add(loss_sum, loss.detach()) : loss.detach();
  }
  if (grad_sync_) grad_sync_->finish();
  if (grad_sync_ || sharded_) {
    comm_.all_reduce_sum(loss_sum);
    comm_.wait();
  }
  const double loss = loss_sum.item() * scale;
  const ParameterList& params = trainable_;
  if (sharded_) {
    // Every rank sees the same summed loss, so all of them skip the collective step together.
    grad_norm = finite(loss) ? sharded_->step(lr, recipe_.optim.grad_clip) : std::numeric_limits<double>::quiet_NaN();
    for (const Parameter& p : params) p.value.zero_grad();
    return finite(grad_norm) ? loss : std::numeric_limits<double>::quiet_NaN();
  }
  if (exchange_) {  // the experts' gradients are spread over the ranks
    grad_norm = grad_norm_over_ranks(params, comm_);
    if (recipe_.optim.grad_clip > 0) clip_grads_to_norm(params, grad_norm, recipe_.optim.grad_clip);
  } else {
    grad_norm = recipe_.optim.grad_clip > 0 ? clip_grad_norm(params, recipe_.optim.grad_clip)
                                            : global_grad_norm(params);
  }
  if (finite(loss) && finite(grad_norm)) optimizer_->step(lr);
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
  if (!data_->has_valid()) return;
  const int64_t every = recipe_.train.eval_interval;
  if (!force && (every <= 0 || step_ % every != 0)) return;
  // Expert parallelism: every rank scores the whole set, in the same batches (each batch exchanges
  // tokens with every rank), so there is nothing to sum.
  const bool whole = exchange_ != nullptr;
  const auto pass = data_->valid_pass(recipe_.eval_batch_size(whole ? 1 : comm_.world_size()), recipe_.eval.max_batches,
                                      whole);
  EvalResult r = evaluate(*model_, *pass, recipe_.model.num_classes, device_, data_->token_accuracy());
  if (comm_.world_size() > 1 && !whole) sum_over_ranks(r, comm_, device_);
  last_eval_loss_ = r.loss;
  char line[200];
  if (r.task == Task::Classify) {
    last_eval_accuracy_ = r.accuracy();
    const ClassMetrics classes{data_->class_names(), r.confusion};
    if (metrics_)
      metrics_->write("eval", step_,
                    {{"tokens", double(tokens_seen_)}, {"loss", r.loss}, {"accuracy", r.accuracy()},
                     {"eval_sequences", double(r.count)}},
                    &classes);
    std::snprintf(line, sizeof line, "eval  step %6lld | loss %.4f | accuracy %.2f%% (%lld sequences)",
                  (long long)step_, r.loss, 100.0 * r.accuracy(), (long long)r.count);
    progress_ << line << "\n" << format_confusion(r, data_->class_names()) << std::flush;
    return;
  }
  std::vector<std::pair<std::string, double>> fields{{"tokens", double(tokens_seen_)},
                                                     {"loss", r.loss},
                                                     {"ppl", r.perplexity()},
                                                     {"bpb", r.bits_per_token()},
                                                     {"eval_tokens", double(r.count)}};
  if (data_->token_accuracy()) fields.emplace_back("accuracy", r.accuracy());
  if (r.moe.layers > 0) {
    fields.insert(fields.end(), {{"moe_aux_loss", r.moe.aux_loss},
                                 {"moe_dropped", r.moe.dropped},
                                 {"moe_load_min", r.moe.load_min},
                                 {"moe_load_max", r.moe.load_max},
                                 {"moe_load_cv", r.moe.load_cv}});
  }
  if (metrics_) metrics_->write("eval", step_, fields);
  std::snprintf(line, sizeof line, "eval  step %6lld | loss %.4f | ppl %.2f | %.3f bits/token (%lld tokens)",
                (long long)step_, r.loss, r.perplexity(), r.bits_per_token(), (long long)r.count);
  progress_ << line;
  if (data_->token_accuracy()) {
    std::snprintf(line, sizeof line, " | accuracy %.2f%%", 100.0 * r.accuracy());
    progress_ << line;
  }
  if (r.moe.layers > 0) {
    std::snprintf(line, sizeof line, " | moe aux %.3f, dropped %.1f%%, load %.2f-%.2f (cv %.2f)", r.moe.aux_loss,
                  100.0 * r.moe.dropped, r.moe.load_min, r.moe.load_max, r.moe.load_cv);
    progress_ << line;
  }
  progress_ << "\n" << std::flush;
}

// This rank's stop request, or with several ranks any rank's (a tiny all-reduce every step, so that
// all stop after the same step); a rank stopped for another's request reports SIGTERM.
int Trainer::agreed_stop_signal() {
  const int local = stop_signal();
  if (comm_.world_size() == 1) return local;
  Tensor flag = Tensor::full({1}, local != 0 ? 1.0 : 0.0, DType::F32, device_);
  comm_.all_reduce_sum(flag);
  comm_.wait();
  if (flag.item() == 0) return 0;
  return local != 0 ? local : SIGTERM;
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
    if (metrics_)
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
    // The checkpoint comes before the evaluation, so a failing evaluation cannot cost it.
    const int64_t every = recipe_.train.checkpoint_interval;
    const bool saved = step_ == total || (every > 0 && step_ % every == 0);
    if (saved) save_checkpoint();
    summary.stop_signal = step_ < total ? agreed_stop_signal() : 0;
    if (summary.stop_signal != 0) {
      if (!saved) save_checkpoint();
      progress_ << "stopping at step " << step_ << " on " << signal_name(summary.stop_signal) << ": checkpoint "
                << checkpoint_path(recipe_.train.run_dir, step_) << " written; run the same command to resume\n"
                << std::flush;
      break;
    }
    maybe_evaluate(step_ == total);
  }
  summary.last_step = step_;
  summary.final_train_loss = last_loss;
  summary.final_eval_loss = last_eval_loss_;
  summary.final_eval_accuracy = last_eval_accuracy_;
  summary.nonfinite_skips = nonfinite_skips_;
  summary.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // A finished run started again trains nothing: its summary stays the one that finished it.
  const std::filesystem::path summary_path = std::filesystem::path(recipe_.train.run_dir) / kRunSummaryFile;
  if (writes() && step_ == total && (step_ > summary.first_step || !std::filesystem::exists(summary_path)))
    write_run_summary(make_run_summary(recipe_, *model_, summary), summary_path);
  return summary;
}

}  // namespace krait::train
