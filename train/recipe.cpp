// train/recipe.cpp — Recipe's resolved accessors and validation, and load_recipe / parse_recipe:
// the recipe schema read strictly from YAML plus `--set` overrides, every key through
// RecipeSectionReader, so only the keys train/recipe_keys.cpp describes.
#include "train/recipe.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "common/error.h"
#include "train/recipe_section_reader.h"
#include "train/yaml_reader.h"

namespace krait::train {
namespace {

const std::vector<std::pair<std::string, LrDecay>> kDecays = {
    {lr_decay_name(LrDecay::Cosine), LrDecay::Cosine},
    {lr_decay_name(LrDecay::Linear), LrDecay::Linear},
    {lr_decay_name(LrDecay::Constant), LrDecay::Constant}};
const std::vector<std::pair<std::string, Precision>> kPrecisions = {{"fp32", Precision::FP32},
                                                                    {"bf16", Precision::BF16}};
const std::vector<std::pair<std::string, OnNonFinite>> kNonFiniteActions = {
    {"stop", OnNonFinite::Stop}, {"skip", OnNonFinite::Skip}};
const std::vector<std::pair<std::string, Task>> kTasks = {{"lm", Task::LM}, {"classify", Task::Classify}};
const std::vector<std::pair<std::string, ops::PoolMode>> kPools = {{"mean", ops::PoolMode::Mean},
                                                                   {"last", ops::PoolMode::Last}};
const std::vector<std::pair<std::string, DataFormat>> kFormats = {
    {"tokens", DataFormat::Tokens}, {"hdf5", DataFormat::Hdf5},   {"fasta", DataFormat::Fasta},
    {"wav", DataFormat::Wav},       {"synthetic", DataFormat::Synthetic}};
const std::vector<std::pair<std::string, LabelBy>> kLabelKeys = {{"file", LabelBy::File}, {"record", LabelBy::Record}};
const std::vector<std::pair<std::string, AudioQuantize>> kQuantizers = {{"mu-law", AudioQuantize::MuLaw},
                                                                        {"linear", AudioQuantize::Linear}};
const std::vector<std::pair<std::string, AInit>> kAInits = {
    {a_init_name(AInit::S4DReal), AInit::S4DReal},
    {a_init_name(AInit::S4DLinReal), AInit::S4DLinReal},
    {a_init_name(AInit::Random), AInit::Random}};
const std::vector<std::pair<std::string, AudioLabels>> kAudioLabels = {
    {"none", AudioLabels::None}, {"folder", AudioLabels::Folder}, {"manifest", AudioLabels::Manifest}};

template <typename E>
const char* name_of(E value, const std::vector<std::pair<std::string, E>>& choices) {
  for (const auto& [name, choice] : choices) {
    if (choice == value) return name.c_str();
  }
  return "?";
}

std::string text(int64_t value) { return std::to_string(value); }
std::string text(double value) { return format_number(value); }

// train.micro_batch and train.grad_accum with "auto" solved, or why they cannot be.
struct BatchSplit {
  int64_t micro_batch = 0;
  int64_t grad_accum = 0;
  std::string error;
};

BatchSplit split_batch(const Recipe& recipe, int world_size) {
  KRAIT_CHECK(world_size >= 1, "world_size must be >= 1 (got ", world_size, ")");
  const int64_t batch = recipe.data.batch_size, world = world_size;
  const int64_t micro = recipe.train.micro_batch, accum = recipe.train.grad_accum;
  const std::string head = "data.batch_size (" + text(batch) + ")";
  const std::string ranks = " x world size " + text(world);
  BatchSplit split{micro, accum, ""};
  if (micro > 0 && accum > 0) {
    if (batch % micro != 0 || batch / micro % accum != 0 || batch / micro / accum != world) {
      split.error = head + " must equal train.micro_batch x train.grad_accum x world size (got " +
                    text(micro) + " x " + text(accum) + " x " + text(world) + ")";
    }
  } else if (micro > 0) {
    split.grad_accum = batch / (micro * world);
    if (batch % (micro * world) != 0) {
      split.error = head + " must be a multiple of train.micro_batch " + text(micro) + ranks +
                    " (train.grad_accum is auto)";
    }
  } else if (accum > 0) {
    split.micro_batch = batch / (accum * world);
    if (batch % (accum * world) != 0) {
      split.error = head + " must be a multiple of train.grad_accum " + text(accum) + ranks +
                    " (train.micro_batch is auto)";
    }
  } else {
    split.micro_batch = batch / world;
    split.grad_accum = 1;
    if (batch % world != 0) {
      split.error = head + " must be a multiple of the world size " + text(world);
    }
  }
  return split;
}

// The transformer backbone's fields (check_recipe's part for model.backbone: transformer).
void check_transformer(const TransformerConfig& t, const KeyLocations& where) {
  const auto need = [&](bool ok, const std::string& key, const std::string& rule, auto got) {
    if (!ok) where.fail_at_first_given({key, "model.size"}, key + " must be " + rule + " (got " + text(got) + ")");
  };
  need(t.d_model > 0, "model.d_model", "> 0", t.d_model);
  need(t.n_layer > 0, "model.n_layer", "> 0", t.n_layer);
  need(t.n_head > 0, "model.n_head", "> 0", t.n_head);
  need(t.d_ff >= 0, "model.d_ff", "> 0 or auto", t.d_ff);
  need(t.vocab_size > 0, "model.vocab_size", "> 0", t.vocab_size);
  need(t.pad_vocab_size_multiple > 0, "model.pad_vocab_size_multiple", "> 0", t.pad_vocab_size_multiple);
  need(t.rope_theta > 0, "model.rope_theta", "> 0", t.rope_theta);
  need(t.norm_eps > 0, "model.norm_eps", "> 0", t.norm_eps);
  if (t.d_model % t.n_head != 0 || t.head_dim() % 2 != 0) {
    where.fail_at_first_given({"model.n_head", "model.d_model", "model.size"},
                              "model.n_head (" + text(t.n_head) + ") must divide model.d_model (" + text(t.d_model) +
                                  ") into heads of an even width (rotary embeddings rotate pairs)");
  }
}

// Sizes beyond any real run are refused before anything multiplies them (a padded vocabulary, d_ff,
// tokens per step): every model and batch size below 2^31, and the run's tokens below 2^63.
void check_sizes_fit(const Recipe& recipe, const KeyLocations& where) {
  constexpr int64_t kMaxSize = int64_t{1} << 31;
  const MambaConfig& m = recipe.model.mamba;
  const TransformerConfig& t = recipe.model.transformer;
  const std::pair<const char*, int64_t> sizes[] = {
      {"model.d_model", m.d_model}, {"model.n_layer", m.n_layer}, {"model.vocab_size", m.vocab_size},
      {"model.d_state", m.d_state}, {"model.d_conv", m.d_conv}, {"model.expand", m.expand},
      {"model.dt_rank", m.dt_rank}, {"model.pad_vocab_size_multiple", m.pad_vocab_size_multiple},
      {"model.moe_experts", m.moe.experts}, {"model.moe_top_k", m.moe.top_k}, {"model.moe_hidden", m.moe.hidden},
      {"model.d_model", t.d_model}, {"model.n_layer", t.n_layer}, {"model.n_head", t.n_head},
      {"model.d_ff", t.d_ff}, {"model.vocab_size", t.vocab_size},
      {"model.pad_vocab_size_multiple", t.pad_vocab_size_multiple}, {"model.num_classes", recipe.model.num_classes},
      {"data.seq_len", recipe.data.seq_len}, {"data.batch_size", recipe.data.batch_size},
      {"train.micro_batch", recipe.train.micro_batch}, {"train.grad_accum", recipe.train.grad_accum},
      {"eval.batch_size", recipe.eval.batch_size}};
  for (const auto& [key, value] : sizes) {
    if (value >= kMaxSize) where.fail(key, std::string(key) + " must be below 2^31 (got " + text(value) + ")");
  }
  const ScheduleSection& s = recipe.schedule;
  const DataSection& d = recipe.data;  // a size <= 0 is reported by check_recipe
  const int64_t tokens_per_step = d.seq_len > 0 && d.batch_size > 0 ? recipe.tokens_per_step() : 1;
  const int64_t steps = s.total_steps ? *s.total_steps : s.total_tokens.value_or(0) / tokens_per_step;
  if (steps > std::numeric_limits<int64_t>::max() / tokens_per_step - 1) {
    where.fail_at_first_given({"schedule.total_steps", "schedule.total_tokens"},
                              "the run's tokens (schedule.total_steps x data.batch_size x data.seq_len) must be "
                              "below 2^63 (got " + text(steps) + " steps of " + text(tokens_per_step) + " tokens)");
  }
}

// Range and consistency checks; messages name key paths, located by where.
void check_recipe(const Recipe& recipe, int world_size, const KeyLocations& where) {
  const auto need = [&](bool ok, const std::string& key, const std::string& rule, auto got) {
    if (!ok) where.fail(key, key + " must be " + rule + " (got " + text(got) + ")");
  };
  check_sizes_fit(recipe, where);

  const ModelSpec& spec = recipe.model;
  const std::vector<std::string> backbones = backbone_names();
  if (std::find(backbones.begin(), backbones.end(), spec.backbone) == backbones.end()) {
    std::string names;
    for (const std::string& name : backbones) names += (names.empty() ? "" : ", ") + name;
    where.fail("model.backbone", "model.backbone: expected one of " + names + ", got '" + spec.backbone + "'");
  }
  if (spec.task == Task::Classify) {
    if (spec.num_classes == 1 || spec.num_classes < 0)
      where.fail("model.num_classes", "model.num_classes must be >= 2, or 0 to take the classes from the data (got " +
                                          text(spec.num_classes) + ")");
  } else if (spec.num_classes != 0) {
    where.fail_at_first_given({"model.num_classes", "task"}, "model.num_classes is for task: classify");
  }
  if (spec.is_transformer()) check_transformer(spec.transformer, where);
  const MambaConfig& m = spec.mamba;
  if (!m.residual_in_fp32)
    where.fail("model.residual_in_fp32", "model.residual_in_fp32: false is not supported; Krait keeps the residual "
               "stream in fp32 (set true or leave it out)");
  need(m.d_model > 0, "model.d_model", "> 0", m.d_model);
  need(m.n_layer > 0, "model.n_layer", "> 0", m.n_layer);
  need(m.vocab_size > 0, "model.vocab_size", "> 0", m.vocab_size);
  need(m.d_state > 0, "model.d_state", "> 0", m.d_state);
  need(m.d_conv > 0, "model.d_conv", "> 0", m.d_conv);
  need(m.expand > 0, "model.expand", "> 0", m.expand);
  need(m.dt_rank >= 0, "model.dt_rank", "> 0 or auto", m.dt_rank);
  need(m.dt_min > 0, "model.dt_min", "> 0", m.dt_min);
  need(m.dt_max > 0, "model.dt_max", "> 0", m.dt_max);
  if (m.dt_min > m.dt_max) {
    where.fail_at_first_given(
        {"model.dt_min", "model.dt_max"},
        "model.dt_min (" + text(m.dt_min) + ") must be <= model.dt_max (" + text(m.dt_max) + ")");
  }
  need(m.dt_init_floor > 0, "model.dt_init_floor", "> 0", m.dt_init_floor);
  need(m.dt_scale > 0, "model.dt_scale", "> 0", m.dt_scale);
  need(m.pad_vocab_size_multiple > 0, "model.pad_vocab_size_multiple", "> 0",
       m.pad_vocab_size_multiple);
  need(m.norm_eps > 0, "model.norm_eps", "> 0", m.norm_eps);
  if (spec.backbone == "moe-mamba") {
    const MoeConfig& moe = m.moe;
    need(moe.experts >= 1, "model.moe_experts", ">= 1", moe.experts);
    need(moe.top_k >= 1 && moe.top_k <= std::max<int64_t>(moe.experts, 1), "model.moe_top_k",
         "in 1..model.moe_experts (" + text(moe.experts) + ")", moe.top_k);
    need(moe.capacity_factor > 0, "model.moe_capacity_factor", "> 0", moe.capacity_factor);
    need(moe.aux_weight >= 0, "model.moe_aux_weight", ">= 0", moe.aux_weight);
    need(moe.hidden >= 0, "model.moe_hidden", "> 0 or auto", moe.hidden);
    if (moe.expert_parallel && world_size > 1) {
      need(moe.experts % world_size == 0, "model.moe_experts",
           "a multiple of the " + text(int64_t(world_size)) + " ranks with model.moe_expert_parallel", moe.experts);
      if (recipe.train.zero1)
        where.fail_at_first_given({"train.zero1", "model.moe_expert_parallel"},
                                  "model.moe_expert_parallel and train.zero1 together are not supported yet");
    }
  }

  const DataSection& d = recipe.data;
  if (d.train.empty() && d.format != DataFormat::Synthetic)
    where.fail("data.train", "data.train must name the training data");
  if (d.format == DataFormat::Synthetic) {
    if (d.task != "selective-copying" && d.task != "induction-heads")
      where.fail("data.task", "data.task: expected selective-copying or induction-heads, got '" + d.task + "'");
    if (spec.task == Task::Classify) where.fail_at_first_given({"task", "data.format"}, "the synthetic tasks are task: lm");
    if (d.task == "selective-copying")
      need(d.copy_tokens >= 1 && d.copy_tokens <= d.seq_len / 2, "data.copy_tokens",
           ">= 1 and at most half of data.seq_len (the rest holds them among noise)", d.copy_tokens);
    need(d.eval_examples >= 1, "data.eval_examples", ">= 1", d.eval_examples);
  }
  need(d.seq_len > 0, "data.seq_len", "> 0", d.seq_len);
  need(d.batch_size > 0, "data.batch_size", "> 0", d.batch_size);
  if (spec.task == Task::Classify && d.format == DataFormat::Tokens)
    where.fail_at_first_given({"data.format", "task"}, "task: classify needs labeled sequences: data.format hdf5, "
                              "fasta or wav (token files carry no labels)");
  need(d.sample_rate > 0, "data.sample_rate", "> 0", d.sample_rate);
  need(d.quantize_bits >= 1 && d.quantize_bits <= 16, "data.quantize_bits", "in [1, 16]", d.quantize_bits);
  need(d.clip_samples >= 0, "data.clip_samples", ">= 0 (0 = as recorded)", d.clip_samples);
  if (d.labels == AudioLabels::Manifest && d.manifest.empty())
    where.fail("data.labels", "data.labels: manifest needs data.manifest");

  const OptimSection& o = recipe.optim;
  need(o.lr > 0, "optim.lr", "> 0", o.lr);
  for (const auto& [index, beta] : {std::pair{"0", o.beta1}, std::pair{"1", o.beta2}}) {
    if (!(beta >= 0 && beta < 1)) {
      where.fail("optim.betas", std::string("optim.betas[") + index + "] must be in [0, 1) (got " +
                                    text(beta) + ")");
    }
  }
  need(o.eps > 0, "optim.eps", "> 0", o.eps);
  need(o.weight_decay >= 0, "optim.weight_decay", ">= 0", o.weight_decay);
  need(o.grad_clip >= 0, "optim.grad_clip", ">= 0 (0 = off)", o.grad_clip);

  const ScheduleSection& s = recipe.schedule;
  need(s.warmup_steps >= 0, "schedule.warmup_steps", ">= 0", s.warmup_steps);
  if (s.total_steps.has_value() == s.total_tokens.has_value()) {
    const std::string problem = s.total_steps ? "schedule.total_steps and total_tokens are both set"
                                              : "missing schedule.total_steps or total_tokens";
    where.fail_at_first_given({"schedule.total_steps", "schedule.total_tokens", "schedule"},
                              problem + "; give exactly one");
  }
  if (s.total_steps) need(*s.total_steps > 0, "schedule.total_steps", "> 0", *s.total_steps);
  if (s.total_tokens) need(*s.total_tokens > 0, "schedule.total_tokens", "> 0", *s.total_tokens);
  if (s.warmup_steps > recipe.total_steps()) {
    where.fail("schedule.warmup_steps", "schedule.warmup_steps (" + text(s.warmup_steps) +
                                            ") must be <= the total steps (" +
                                            text(recipe.total_steps()) + ")");
  }
  need(s.min_lr >= 0, "schedule.min_lr", ">= 0", s.min_lr);
  if (s.min_lr > o.lr) {
    where.fail_at_first_given(
        {"schedule.min_lr", "optim.lr"},
        "schedule.min_lr (" + text(s.min_lr) + ") must be <= optim.lr (" + text(o.lr) + ")");
  }

  const TrainSection& t = recipe.train;
  need(t.seed >= 0, "train.seed", ">= 0", t.seed);
  try {
    Device::parse(t.device);
  } catch (const Error&) {
    where.fail("train.device",
               "train.device: expected cpu, cuda or cuda:N, got '" + t.device + "'");
  }
  need(t.micro_batch >= 0, "train.micro_batch", "> 0 or auto", t.micro_batch);
  need(t.grad_accum >= 0, "train.grad_accum", "> 0 or auto", t.grad_accum);
  const BatchSplit split = split_batch(recipe, world_size);
  if (!split.error.empty()) {
    where.fail_at_first_given({"train.micro_batch", "train.grad_accum", "data.batch_size"},
                              split.error);
  }
  need(t.eval_interval >= 0, "train.eval_interval", ">= 0 (0 = only at the end)", t.eval_interval);
  need(t.checkpoint_interval >= 0, "train.checkpoint_interval", ">= 0 (0 = only at the end)",
       t.checkpoint_interval);
  if (t.run_dir.empty()) where.fail("train.run_dir", "train.run_dir must name a folder");
  need(t.keep_checkpoints >= 1, "train.keep_checkpoints", ">= 1", t.keep_checkpoints);
  need(t.log_interval >= 1, "train.log_interval", ">= 1", t.log_interval);
  need(t.max_nonfinite_skips >= 0, "train.max_nonfinite_skips", ">= 0", t.max_nonfinite_skips);
  need(t.dist_timeout_s > 0, "train.dist_timeout_s", "> 0", t.dist_timeout_s);
  need(t.bucket_mb > 0, "train.bucket_mb", "> 0", t.bucket_mb);
  for (const std::string& pattern : t.freeze) {
    if (pattern.empty()) where.fail("train.freeze", "train.freeze: empty pattern");
  }

  const EvalSection& e = recipe.eval;
  need(e.max_batches >= 0, "eval.max_batches", ">= 0 (0 = the whole set)", e.max_batches);
  need(e.batch_size >= 0, "eval.batch_size", "> 0 or auto", e.batch_size);
}

// finish() with the backbone named: the other backbone's keys (model.d_state under a
// transformer, model.n_head under mamba) are unknown keys of this one.
void finish_model(const RecipeSectionReader& in, const std::string& backbone) {
  try {
    in.finish();
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (model.backbone is " + backbone + ")");
  }
}

// The transformer backbone's keys. model.size fills d_model, n_layer and n_head from a named GPT-3
// shape (layers/transformer_config.h); any of those keys given as well overrides the size's value.
void read_transformer(RecipeSectionReader& in, TransformerConfig& t) {
  std::vector<std::pair<std::string, const TransformerSize*>> sizes;
  for (const TransformerSize& size : transformer_sizes()) sizes.emplace_back(size.name, &size);
  const TransformerSize* size = nullptr;
  if (in.read_choice("size", size, sizes)) {
    t.d_model = size->d_model;
    t.n_layer = size->n_layer;
    t.n_head = size->n_head;
  }
  in.read("d_model", t.d_model);
  in.read("n_layer", t.n_layer);
  in.read("n_head", t.n_head);
  in.read_int_or_auto("d_ff", t.d_ff);
  in.read("vocab_size", t.vocab_size);
  in.read("rope_theta", t.rope_theta);
  in.read("norm_eps", t.norm_eps);
  in.read("tie_embeddings", t.tie_embeddings);
  in.read("pad_vocab_size_multiple", t.pad_vocab_size_multiple);
  finish_model(in, "transformer");
  if (!size) {
    in.require("d_model");
    in.require("n_layer");
    in.require("n_head");
  }
  in.require("vocab_size");
}

void read_model(RecipeSectionReader in, ModelSpec& spec) {
  MambaConfig& m = spec.mamba;
  std::vector<std::pair<std::string, std::string>> backbones;
  for (const std::string& name : backbone_names()) backbones.emplace_back(name, name);
  in.read_choice("backbone", spec.backbone, backbones);
  in.choose_backbone(spec.backbone);
  in.read("num_classes", spec.num_classes);
  in.read_choice("pool", spec.pool, kPools);
  if (spec.is_transformer()) return read_transformer(in, spec.transformer);
  in.read("d_model", m.d_model);
  in.read("n_layer", m.n_layer);
  in.read("vocab_size", m.vocab_size);
  in.read("d_state", m.d_state);
  in.read("d_conv", m.d_conv);
  in.read("expand", m.expand);
  in.read_int_or_auto("dt_rank", m.dt_rank);
  in.read("dt_min", m.dt_min);
  in.read("dt_max", m.dt_max);
  in.read("dt_init_floor", m.dt_init_floor);
  in.read("dt_scale", m.dt_scale);
  in.read("conv_bias", m.conv_bias);
  in.read("bias", m.bias);
  in.read("pad_vocab_size_multiple", m.pad_vocab_size_multiple);
  in.read("tie_embeddings", m.tie_embeddings);
  in.read("norm_eps", m.norm_eps);
  in.read("residual_in_fp32", m.residual_in_fp32);
  // The paper's ablations (Section 4.6); selective is true, false or a list of delta, B, C.
  std::vector<std::string> selective;
  if (in.read_subset("selective", selective, Selectivity::kNames)) m.selective = Selectivity::from_names(selective);
  in.read("conv", m.conv);
  in.read("gate", m.gate);
  in.read_choice("a_init", m.a_init, kAInits);
  if (spec.backbone == "moe-mamba") {
    in.read("moe_experts", m.moe.experts);
    in.read("moe_top_k", m.moe.top_k);
    in.read("moe_capacity_factor", m.moe.capacity_factor);
    in.read("moe_aux_weight", m.moe.aux_weight);
    in.read_int_or_auto("moe_hidden", m.moe.hidden);
    in.read("moe_expert_parallel", m.moe.expert_parallel);
  }
  finish_model(in, spec.backbone);
  if (spec.backbone == "moe-mamba") in.require("moe_experts");
  in.require("d_model");
  in.require("n_layer");
  in.require("vocab_size");
}

void read_data(RecipeSectionReader in, DataSection& d) {
  in.read("train", d.train);
  in.read("valid", d.valid);
  in.read("seq_len", d.seq_len);
  in.read("batch_size", d.batch_size);
  in.read_choice("format", d.format, kFormats);
  in.read("manifest", d.manifest);
  in.read_choice("label_by", d.label_by, kLabelKeys);
  in.read("reverse_complement", d.reverse_complement);
  in.read("sample_rate", d.sample_rate);
  in.read("resample", d.resample);
  in.read_choice("quantize", d.quantize, kQuantizers);
  in.read("quantize_bits", d.quantize_bits);
  in.read_choice("labels", d.labels, kAudioLabels);
  in.read("clip_samples", d.clip_samples);
  in.read("task", d.task);
  in.read("copy_tokens", d.copy_tokens);
  in.read("eval_examples", d.eval_examples);
  in.read("tokenizer", d.tokenizer);
  in.finish();
  if (d.format != DataFormat::Synthetic) in.require("train");
}

void read_optim(RecipeSectionReader in, OptimSection& o) {
  in.read("lr", o.lr);
  in.read_pair("betas", o.beta1, o.beta2);
  in.read("eps", o.eps);
  in.read("weight_decay", o.weight_decay);
  in.read("grad_clip", o.grad_clip);
  in.finish();
}

void read_schedule(RecipeSectionReader in, ScheduleSection& s) {
  in.read("warmup_steps", s.warmup_steps);
  in.read("total_steps", s.total_steps);
  in.read("total_tokens", s.total_tokens);
  in.read("min_lr", s.min_lr);
  in.read_choice("decay", s.decay, kDecays);
  in.finish();
}

void read_train(RecipeSectionReader in, TrainSection& t) {
  in.read("seed", t.seed);
  in.read("device", t.device);
  in.read_int_or_auto("micro_batch", t.micro_batch);
  in.read_int_or_auto("grad_accum", t.grad_accum);
  in.read("eval_interval", t.eval_interval);
  in.read("checkpoint_interval", t.checkpoint_interval);
  in.read("run_dir", t.run_dir);
  in.read("keep_checkpoints", t.keep_checkpoints);
  in.read("log_interval", t.log_interval);
  in.read_choice("precision", t.precision, kPrecisions);
  in.read_choice("on_nonfinite", t.on_nonfinite, kNonFiniteActions);
  in.read("max_nonfinite_skips", t.max_nonfinite_skips);
  in.read("init_from", t.init_from);
  in.read("freeze", t.freeze);
  in.read("dist_timeout_s", t.dist_timeout_s);
  in.read("bucket_mb", t.bucket_mb);
  in.read("zero1", t.zero1);
  in.read("recompute", t.recompute);
  in.finish();
}

void read_eval(RecipeSectionReader in, EvalSection& e) {
  in.read("max_batches", e.max_batches);
  in.read_int_or_auto("batch_size", e.batch_size);
  in.finish();
}

Recipe read_recipe(const YAML::Node& root, KeyLocations& where) {
  RecipeSectionReader in(root, "", where);
  Recipe recipe;
  in.read_choice("task", recipe.model.task, kTasks);
  RecipeSectionReader model = in.section("model"), data = in.section("data"), optim = in.section("optim"),
            schedule = in.section("schedule"), train = in.section("train"),
            eval = in.section("eval");
  in.finish();  // an unknown section before the keys missing from a misspelled one
  read_model(model, recipe.model);
  read_data(data, recipe.data);
  read_optim(optim, recipe.optim);
  read_schedule(schedule, recipe.schedule);
  read_train(train, recipe.train);
  read_eval(eval, recipe.eval);
  return recipe;
}

}  // namespace

const char* to_string(Precision precision) { return name_of(precision, kPrecisions); }
const char* to_string(OnNonFinite action) { return name_of(action, kNonFiniteActions); }
const char* to_string(DataFormat format) { return name_of(format, kFormats); }
const char* to_string(LabelBy key) { return name_of(key, kLabelKeys); }
const char* to_string(AudioQuantize quantize) { return name_of(quantize, kQuantizers); }
const char* to_string(AudioLabels labels) { return name_of(labels, kAudioLabels); }
const char* to_string(ops::PoolMode pool) { return name_of(pool, kPools); }

int64_t Recipe::total_steps() const {
  if (schedule.total_steps) return *schedule.total_steps;
  KRAIT_CHECK(schedule.total_tokens,
              "recipe: neither schedule.total_steps nor total_tokens is set");
  return *schedule.total_tokens / tokens_per_step() + (*schedule.total_tokens % tokens_per_step() != 0);
}

int64_t Recipe::micro_batch(int world_size) const {
  const BatchSplit split = split_batch(*this, world_size);
  if (!split.error.empty()) throw Error(split.error);
  return split.micro_batch;
}

int64_t Recipe::grad_accum(int world_size) const {
  const BatchSplit split = split_batch(*this, world_size);
  if (!split.error.empty()) throw Error(split.error);
  return split.grad_accum;
}

int64_t Recipe::eval_batch_size(int world_size) const {
  return eval.batch_size > 0 ? eval.batch_size : micro_batch(world_size);
}

void Recipe::validate(int world_size) const { check_recipe(*this, world_size, KeyLocations("")); }

Recipe parse_recipe(const std::string& text, const std::string& source_name,
                    const std::vector<std::string>& overrides, int world_size) {
  KeyLocations where(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw Error(source_name + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML (column " +
                std::to_string(e.mark.column + 1) + "): " + e.msg);
  }
  for (const std::string& assignment : overrides) {
    apply_override(root, assignment, "--set " + assignment, where);
  }
  Recipe recipe = read_recipe(root, where);
  check_recipe(recipe, world_size, where);
  return recipe;
}

Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides,
                   int world_size) {
  if (!std::filesystem::exists(path)) throw Error("recipe file '" + path + "' not found");
  if (std::filesystem::is_directory(path)) throw Error("recipe file '" + path + "' is a folder");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open recipe file '" + path + "'");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw Error("cannot read recipe file '" + path + "'");
  return parse_recipe(text, path, overrides, world_size);
}

}  // namespace krait::train
