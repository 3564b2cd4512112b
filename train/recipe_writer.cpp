// train/recipe_writer.cpp — to_yaml and write_resolved_recipe: a Recipe written back as YAML with
// every field explicit.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "train/recipe.h"
#include "train/yaml_reader.h"

namespace krait::train {
namespace {

std::string text(int64_t value) { return std::to_string(value); }
std::string text(double value) { return format_number(value); }
std::string text(bool value) { return value ? "true" : "false"; }

void field(YAML::Emitter& out, const char* key, const std::string& value,
           const std::string& comment = "") {
  out << YAML::Key << key << YAML::Value << value;
  if (!comment.empty()) out << YAML::Comment(comment);
}

// A field that may be "auto" (stored as 0), written with what resolve() says it stands for.
template <typename Resolve>
void auto_field(YAML::Emitter& out, const char* key, int64_t value, const Resolve& resolve) {
  if (value > 0) {
    field(out, key, text(value));
  } else {
    field(out, key, "auto", "= " + resolve());
  }
}

void begin_section(YAML::Emitter& out, const char* name) {
  out << YAML::Key << name << YAML::Value << YAML::BeginMap;
}

// The transformer backbone's fields; a shape that is one of the named sizes says so (the size itself
// is not written: the three fields it stands for are).
void write_transformer(YAML::Emitter& out, const TransformerConfig& t) {
  std::string size;
  for (const TransformerSize& s : transformer_sizes()) {
    if (s.d_model == t.d_model && s.n_layer == t.n_layer && s.n_head == t.n_head) size = "size " + s.name;
  }
  field(out, "d_model", text(t.d_model), size);
  field(out, "n_layer", text(t.n_layer));
  field(out, "n_head", text(t.n_head), "heads of " + text(t.head_dim()));
  auto_field(out, "d_ff", t.d_ff, [&] { return text(t.resolved_d_ff()); });
  field(out, "vocab_size", text(t.vocab_size), "padded to " + text(t.padded_vocab_size()) + " embedding rows");
  field(out, "pad_vocab_size_multiple", text(t.pad_vocab_size_multiple));
  field(out, "rope_theta", text(t.rope_theta));
  field(out, "norm_eps", text(t.norm_eps));
  field(out, "tie_embeddings", text(t.tie_embeddings));
}

void write_model(YAML::Emitter& out, const ModelSpec& spec) {
  const MambaConfig& m = spec.mamba;
  begin_section(out, "model");
  field(out, "backbone", spec.backbone);
  if (spec.task == Task::Classify) {
    field(out, "num_classes", text(spec.num_classes), spec.num_classes == 0 ? "from the data" : "");
    field(out, "pool", to_string(spec.pool));
  }
  if (spec.is_transformer()) {
    write_transformer(out, spec.transformer);
    out << YAML::EndMap;
    return;
  }
  field(out, "d_model", text(m.d_model));
  field(out, "n_layer", text(m.n_layer));
  field(out, "vocab_size", text(m.vocab_size),
        "padded to " + text(m.padded_vocab_size()) + " embedding rows");
  field(out, "d_state", text(m.d_state));
  field(out, "d_conv", text(m.d_conv));
  field(out, "expand", text(m.expand));
  auto_field(out, "dt_rank", m.dt_rank, [&] { return text(m.resolved_dt_rank()); });
  field(out, "dt_min", text(m.dt_min));
  field(out, "dt_max", text(m.dt_max));
  field(out, "dt_init_floor", text(m.dt_init_floor));
  field(out, "dt_scale", text(m.dt_scale));
  field(out, "conv_bias", text(m.conv_bias));
  field(out, "bias", text(m.bias));
  field(out, "pad_vocab_size_multiple", text(m.pad_vocab_size_multiple));
  field(out, "tie_embeddings", text(m.tie_embeddings));
  field(out, "norm_eps", text(m.norm_eps));
  field(out, "residual_in_fp32", text(m.residual_in_fp32));
  if (m.selective.all() || m.selective.none()) {
    field(out, "selective", text(m.selective.all()));
  } else {
    out << YAML::Key << "selective" << YAML::Value << YAML::Flow << m.selective.names();
  }
  field(out, "conv", text(m.conv));
  field(out, "gate", text(m.gate));
  field(out, "a_init", a_init_name(m.a_init));
  if (spec.backbone == "moe-mamba") {
    field(out, "moe_experts", text(m.moe.experts));
    field(out, "moe_top_k", text(m.moe.top_k));
    field(out, "moe_capacity_factor", text(m.moe.capacity_factor));
    field(out, "moe_aux_weight", text(m.moe.aux_weight));
    auto_field(out, "moe_hidden", m.moe.hidden, [&] { return text(m.moe.resolved_hidden(m.d_model)); });
    field(out, "moe_expert_parallel", text(m.moe.expert_parallel));
  }
  out << YAML::EndMap;
}

void write_data(YAML::Emitter& out, const DataSection& d) {
  begin_section(out, "data");
  field(out, "train", d.train);
  field(out, "valid", d.valid);
  field(out, "seq_len", text(d.seq_len));
  field(out, "batch_size", text(d.batch_size));
  field(out, "format", to_string(d.format));
  field(out, "manifest", d.manifest);
  field(out, "label_by", to_string(d.label_by), "fasta");
  field(out, "reverse_complement", text(d.reverse_complement), "DNA");
  field(out, "sample_rate", text(d.sample_rate), "wav");
  field(out, "resample", text(d.resample), "wav");
  field(out, "quantize", to_string(d.quantize), "wav");
  field(out, "quantize_bits", text(d.quantize_bits), "wav, linear");
  field(out, "labels", to_string(d.labels), "wav");
  field(out, "clip_samples", text(d.clip_samples), "wav");
  field(out, "task", d.task, "synthetic");
  field(out, "copy_tokens", text(d.copy_tokens), "synthetic");
  field(out, "eval_examples", text(d.eval_examples), "synthetic");
  field(out, "tokenizer", d.tokenizer);
  out << YAML::EndMap;
}

void write_optim(YAML::Emitter& out, const OptimSection& o) {
  begin_section(out, "optim");
  field(out, "lr", text(o.lr));
  out << YAML::Key << "betas" << YAML::Value << YAML::Flow << YAML::BeginSeq << text(o.beta1)
      << text(o.beta2) << YAML::EndSeq;
  field(out, "eps", text(o.eps));
  field(out, "weight_decay", text(o.weight_decay));
  field(out, "grad_clip", text(o.grad_clip));
  out << YAML::EndMap;
}

void write_schedule(YAML::Emitter& out, const Recipe& recipe) {
  const ScheduleSection& s = recipe.schedule;
  begin_section(out, "schedule");
  field(out, "warmup_steps", text(s.warmup_steps));
  const std::string per_step = " of " + text(recipe.tokens_per_step()) + " tokens";
  if (s.total_steps) {
    field(out, "total_steps", text(*s.total_steps),
          "= " + text(*s.total_steps * recipe.tokens_per_step()) + " tokens");
  } else {
    field(out, "total_tokens", text(*s.total_tokens),
          "= " + text(recipe.total_steps()) + " steps" + per_step);
  }
  field(out, "min_lr", text(s.min_lr));
  field(out, "decay", lr_decay_name(s.decay));
  out << YAML::EndMap;
}

void write_train(YAML::Emitter& out, const Recipe& recipe) {
  const TrainSection& t = recipe.train;
  begin_section(out, "train");
  field(out, "seed", text(t.seed));
  field(out, "device", t.device);
  auto_field(out, "micro_batch", t.micro_batch,
             [&] { return text(recipe.micro_batch()) + " on one rank"; });
  auto_field(out, "grad_accum", t.grad_accum,
             [&] { return text(recipe.grad_accum()) + " on one rank"; });
  field(out, "eval_interval", text(t.eval_interval));
  field(out, "checkpoint_interval", text(t.checkpoint_interval));
  field(out, "run_dir", t.run_dir);
  field(out, "keep_checkpoints", text(t.keep_checkpoints));
  field(out, "log_interval", text(t.log_interval));
  field(out, "precision", to_string(t.precision));
  field(out, "on_nonfinite", to_string(t.on_nonfinite));
  field(out, "max_nonfinite_skips", text(t.max_nonfinite_skips));
  field(out, "init_from", t.init_from);
  out << YAML::Key << "freeze" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const std::string& pattern : t.freeze) out << pattern;
  out << YAML::EndSeq;
  field(out, "dist_timeout_s", text(t.dist_timeout_s));
  field(out, "bucket_mb", text(t.bucket_mb));
  field(out, "zero1", text(t.zero1));
  field(out, "recompute", text(t.recompute));
  out << YAML::EndMap;
}

void write_eval(YAML::Emitter& out, const Recipe& recipe) {
  begin_section(out, "eval");
  field(out, "max_batches", text(recipe.eval.max_batches));
  auto_field(out, "batch_size", recipe.eval.batch_size,
             [&] { return text(recipe.eval_batch_size()) + " on one rank"; });
  out << YAML::EndMap;
}

}  // namespace

std::string to_yaml(const Recipe& recipe) {
  YAML::Emitter out;
  out << YAML::Comment("Resolved Krait recipe: every field explicit, defaults filled in.");
  out << YAML::BeginMap;
  field(out, "task", task_name(recipe.model.task));
  write_model(out, recipe.model);
  write_data(out, recipe.data);
  write_optim(out, recipe.optim);
  write_schedule(out, recipe);
  write_train(out, recipe);
  write_eval(out, recipe);
  out << YAML::EndMap;
  KRAIT_CHECK(out.good(), "to_yaml: ", out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

void write_resolved_recipe(const Recipe& recipe, const std::string& path, const std::string& header) {
  const std::filesystem::path target(path);
  std::error_code error;
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), error);
  if (error) {
    throw Error("cannot create folder '" + target.parent_path().string() +
                "' for the resolved "
                "recipe: " +
                error.message());
  }
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << header << to_yaml(recipe);
    if (!out.flush()) throw Error("cannot write resolved recipe '" + temporary + "'");
  }
  std::filesystem::rename(temporary, target, error);
  if (error) {
    throw Error("cannot rename '" + temporary + "' to '" + path + "': " + error.message());
  }
}

}  // namespace krait::train
