// train/recipe.h — Recipe: everything a training run is launched from (model shape, data,
// optimizer, learning-rate schedule, run settings, evaluation), with load_recipe reading it
// strictly from a YAML file plus `--set key.path=value` overrides, and to_yaml writing it back.
//
// A recipe file has up to six sections, each a mapping whose keys are the field names below; every
// key is described in recipe_keys.cpp, whose reference is docs/recipe.md (`krait recipe --describe`).
// A minimal recipe needs only model.d_model, model.n_layer, model.vocab_size, data.train and one
// of schedule.total_steps / schedule.total_tokens; every other field has the default shown.
//
//   model:    {d_model: 768, n_layer: 24, vocab_size: 50277}
//   data:     {train: runs/data/train.bin}
//   schedule: {total_steps: 4800}
//
// Relative paths (data.train, data.valid, train.run_dir) are kept as written and resolve against
// the working directory of the process that uses them, not against the recipe file's folder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autograd/device.h"
#include "layers/model_spec.h"
#include "optim/schedule.h"

namespace krait::train {

// What data.train and data.valid name: token files (data::open_tokens), sequence datasets written by
// krait-prepare (.h5), FASTA files (plain or gzip), or WAV files and folders of them; `synthetic`
// generates the paper's synthetic tasks instead (data/synthetic_tasks.h; train and valid unused).
enum class DataFormat { Tokens, Hdf5, Fasta, Wav, Synthetic };
enum class LabelBy { File, Record };           // FASTA: a manifest key is the file or the record name
enum class AudioQuantize { MuLaw, Linear };    // WAV: 8-bit mu-law, or linear in quantize_bits
enum class AudioLabels { None, Folder, Manifest };

// Training data. The keys after batch_size apply to the formats named in their comments.
struct DataSection {
  std::string train;        // required (but for synthetic); fasta and wav: several paths joined with ','
  std::string valid;        // "" = no validation set (evaluation is then skipped)
  int64_t seq_len = 256;    // ids per sequence (a classification window, or LM inputs)
  int64_t batch_size = 16;  // sequences per optimizer step, summed over all ranks
  DataFormat format = DataFormat::Tokens;  // YAML: tokens | hdf5 | fasta | wav
  std::string manifest;                    // fasta, wav: TSV `key<TAB>class` giving labels
  LabelBy label_by = LabelBy::File;        // fasta: file | record
  bool reverse_complement = false;         // DNA (hdf5, fasta): flip half the training windows
  int64_t sample_rate = 16000;             // wav; hdf5 audio must have been prepared at it
  bool resample = false;                   // wav: resample other rates rather than reject them
  AudioQuantize quantize = AudioQuantize::MuLaw;  // wav: mu-law | linear
  int64_t quantize_bits = 8;                      // wav, linear: 2^bits classes
  AudioLabels labels = AudioLabels::None;         // wav: none | folder | manifest
  int64_t clip_samples = 0;                       // wav: pad or cut every clip to this; 0 = as is
  std::string task = "selective-copying";         // synthetic: selective-copying | induction-heads
  int64_t copy_tokens = 16;                       // synthetic, selective copying: tokens to memorize
  int64_t eval_examples = 1024;                   // synthetic: the fixed validation set's size
  // tokens: the tokenizer that made the ids, for `krait generate` ("" = bytes; else a BPE
  // tokenizer.json, GPT-2's encoder.json, or a directory holding them; data/text_tokenizer.h).
  std::string tokenizer;

  bool operator==(const DataSection&) const = default;
};

// AdamW. In YAML the betas are one key, `betas: [beta1, beta2]`.
struct OptimSection {
  double lr = 1e-3;  // peak learning rate, reached at the end of warmup
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;  // decoupled, as in AdamW
  double grad_clip = 1.0;     // max global gradient L2 norm; 0 = off

  bool operator==(const OptimSection&) const = default;
};

// Linear warmup from 0 to optim.lr over warmup_steps, then `decay` from optim.lr to min_lr at the
// last step. The run length is given as exactly one of total_steps and total_tokens; tokens are
// converted with data.batch_size * data.seq_len tokens per step, rounding up (Recipe::total_steps).
struct ScheduleSection {
  int64_t warmup_steps = 0;
  std::optional<int64_t> total_steps;
  std::optional<int64_t> total_tokens;
  double min_lr = 0.0;
  LrDecay decay = LrDecay::Cosine;  // YAML: cosine | linear | constant (optim/schedule.h)

  bool operator==(const ScheduleSection&) const = default;
};

enum class Precision { FP32, BF16 };
enum class OnNonFinite { Stop, Skip };

// How the run executes. micro_batch and grad_accum may each be "auto" (stored as 0); with
// world_size ranks they must satisfy data.batch_size = micro_batch * grad_accum * world_size, and
// an "auto" one is solved from that (both auto: grad_accum 1). See Recipe::micro_batch().
struct TrainSection {
  int64_t seed = 0;
  std::string device = "cpu";             // cpu | cuda | cuda:N (Device::parse)
  int64_t micro_batch = 0;                // sequences per forward pass per rank; 0 = auto
  int64_t grad_accum = 0;                 // micro-batches per optimizer step per rank; 0 = auto
  int64_t eval_interval = 0;              // steps between evaluations; 0 = only at the end
  int64_t checkpoint_interval = 0;        // steps between checkpoints; 0 = only at the end
  std::string run_dir = "runs/default";   // checkpoints, metrics and the resolved recipe
  int64_t keep_checkpoints = 3;           // newest K checkpoints kept, K >= 1
  int64_t log_interval = 10;              // steps between log lines
  Precision precision = Precision::FP32;  // YAML: fp32 | bf16
  // A step whose loss or gradient norm is not finite either stops the run or is skipped
  // (no update); with skip, the run stops anyway once more than max_nonfinite_skips were skipped.
  OnNonFinite on_nonfinite = OnNonFinite::Stop;  // YAML: stop | skip
  int64_t max_nonfinite_skips = 10;
  // Start a new run from a pretrained checkpoint (a file, or a run folder: its newest): parameters
  // are loaded by name where the shapes agree, the rest (a new head) keep their initialization.
  std::string init_from;
  // Parameters whose names match one of these patterns ('*' matches any run of characters) are not
  // trained, e.g. ["embedding.*", "layers.*"] trains only the head.
  std::vector<std::string> freeze;
  // Data-parallel runs: how long a rank waits for the others (to join, or to finish a collective)
  // before every rank stops with an error naming the cause.
  int64_t dist_timeout_s = 300;
  // Data-parallel runs: the gradients are reduced in buckets of this many MiB (f32), each as soon as the
  // backward has finished it. Fewer, larger buckets mean fewer collectives (each of which waits for the
  // slowest rank); smaller ones overlap more of the backward. PyTorch DDP's bucket_cap_mb.
  int64_t bucket_mb = 25;
  // ZeRO-1: the ranks share the AdamW state (each updates its 1/world of every gradient bucket and
  // the updated parameters are gathered), saving (1 - 1/world) x 8 bytes per parameter per rank.
  bool zero1 = false;
  // Per-layer activation recomputation: each layer keeps its input and runs again in the backward
  // (Backbone::set_recompute_layers), trading about one more forward per step for activation memory
  // (long sequences). A train key, not a model one: the model, its checkpoints and its numbers are
  // the same either way.
  bool recompute = false;

  bool operator==(const TrainSection&) const = default;
};

// Evaluation on data.valid.
struct EvalSection {
  int64_t max_batches = 0;  // 0 = the whole validation set
  int64_t batch_size = 0;   // sequences per forward pass per rank; 0 = auto (= micro_batch)

  bool operator==(const EvalSection&) const = default;
};

struct Recipe {
  // The top-level `task` (lm | classify) and the `model` section: `backbone` (mamba | transformer),
  // for classification `num_classes` (0 = from the data) and `pool` (mean | last), and the backbone's
  // fields. mamba: MambaConfig's names (dt_rank also takes "auto", stored as 0;
  // selective takes true, false or a list of delta, B, C). transformer:
  // d_model, n_layer, n_head, d_ff (or "auto", stored as 0), vocab_size, rope_theta, norm_eps,
  // tie_embeddings, pad_vocab_size_multiple (TransformerConfig), and `size` (125M | 350M | 760M |
  // 1.3B), which sets d_model, n_layer and n_head to that GPT-3 shape unless they are given too; it
  // is not stored (to_yaml writes the three fields). A key of the other backbone is an error.
  ModelSpec model;
  DataSection data;
  OptimSection optim;
  ScheduleSection schedule;
  TrainSection train;
  EvalSection eval;

  // schedule.total_steps, or schedule.total_tokens / tokens_per_step() rounded up.
  int64_t total_steps() const;
  int64_t tokens_per_step() const { return data.batch_size * data.seq_len; }
  // train.micro_batch and train.grad_accum with "auto" solved for world_size ranks.
  int64_t micro_batch(int world_size = 1) const;
  int64_t grad_accum(int world_size = 1) const;
  int64_t eval_batch_size(int world_size = 1) const;
  Device device() const { return Device::parse(train.device); }

  // Throws krait::Error naming the key path of the first field out of range or the first
  // inconsistency between fields (batch sizes are checked for world_size ranks).
  void validate(int world_size = 1) const;
};

// Reads a recipe file, applies overrides ("model.d_model=128", "optim.betas=[0.9,0.99]": a key
// path and a YAML value, as given to `--set`) in order, then validates for world_size ranks.
// Errors name the file and 1-based line (or the override) and the full key path.
Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides = {},
                   int world_size = 1);

// As load_recipe, for recipe text; source_name stands for the file in error messages.
Recipe parse_recipe(const std::string& text, const std::string& source_name,
                    const std::vector<std::string>& overrides = {}, int world_size = 1);

// Every field of a valid recipe, defaults included, as YAML that parse_recipe reads back to an
// equal Recipe; "auto" fields stay "auto", with their one-rank value in a comment. Throws
// krait::Error when the run length is unset or data.batch_size does not split on one rank.
std::string to_yaml(const Recipe& recipe);

// Writes header (comment lines, or "") and to_yaml(recipe) to path (via a temporary file, so a reader
// never sees half a recipe), creating the parent folder if needed.
void write_resolved_recipe(const Recipe& recipe, const std::string& path, const std::string& header = "");

const char* to_string(Precision precision);
const char* to_string(OnNonFinite action);
const char* to_string(DataFormat format);
const char* to_string(LabelBy key);
const char* to_string(AudioQuantize quantize);
const char* to_string(AudioLabels labels);
const char* to_string(ops::PoolMode pool);

}  // namespace krait::train
