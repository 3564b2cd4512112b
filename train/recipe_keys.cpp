// train/recipe_keys.cpp — the recipe key table. A key the reader reads must be described here (and
// one described here must be read), or every recipe read fails; docs/recipe.md is generated from it.
#include "train/recipe_keys.h"

#include <algorithm>

namespace krait::train {
namespace {

using T = KeyType;
const std::vector<std::string> kMamba = {"mamba", "moe-mamba"}, kMoe = {"moe-mamba"}, kTransformer = {"transformer"};

// Columns: section, name, type, default, choices, range, meaning, backbones.
const std::vector<RecipeKey> kKeys = {
    {"", "task", T::Choice, "lm", {"lm", "classify"}, "",
     "lm: predict the next token; classify: one class per sequence (`data.format` hdf5, fasta or wav)"},

    {"model", "backbone", T::Choice, "mamba", {"mamba", "moe-mamba", "transformer"}, "",
     "the sequence model: Mamba, MoE-Mamba (a Switch MoE layer after each Mamba layer), or the paper's "
     "Transformer++ baseline"},
    {"model", "num_classes", T::Integer, "0", {}, "0 or >= 2",
     "classify: the number of classes; 0 takes them from the data"},
    {"model", "pool", T::Choice, "mean", {"mean", "last"}, "",
     "classify: the hidden states averaged over time, or the last position's, go to the linear head"},
    {"model", "d_model", T::Integer, "", {}, "> 0",
     "width of the residual stream; required (transformer: or `size`)"},
    {"model", "n_layer", T::Integer, "", {}, "> 0",
     "blocks (transformer: layers); required (transformer: or `size`)"},
    {"model", "vocab_size", T::Integer, "", {}, "> 0", "vocabulary size, before padding; required"},
    {"model", "pad_vocab_size_multiple", T::Integer, "8", {}, "> 0",
     "embedding rows are padded up to a multiple of this"},
    {"model", "tie_embeddings", T::Boolean, "true", {}, "",
     "the language-model head is the input embedding matrix"},
    {"model", "norm_eps", T::Number, "1e-05", {}, "> 0", "RMSNorm epsilon"},

    {"model", "d_state", T::Integer, "16", {}, "> 0", "SSM state size per channel", kMamba},
    {"model", "d_conv", T::Integer, "4", {}, "> 0", "width of the causal depthwise convolution", kMamba},
    {"model", "expand", T::Integer, "2", {}, "> 0", "inner width = `expand` x `d_model`", kMamba},
    {"model", "dt_rank", T::IntegerOrAuto, "auto", {}, "> 0",
     "rank of the delta projection; auto = ceil(`d_model` / 16)", kMamba},
    {"model", "dt_min", T::Number, "0.001", {}, "> 0", "smallest initial delta (at most `dt_max`)", kMamba},
    {"model", "dt_max", T::Number, "0.1", {}, "> 0", "largest initial delta", kMamba},
    {"model", "dt_init_floor", T::Number, "0.0001", {}, "> 0", "floor of the initial delta", kMamba},
    {"model", "dt_scale", T::Number, "1", {}, "> 0", "scale of the delta projection's initialization", kMamba},
    {"model", "conv_bias", T::Boolean, "true", {}, "", "bias of the convolution (with `conv` only)", kMamba},
    {"model", "bias", T::Boolean, "false", {}, "", "biases of in_proj and out_proj", kMamba},
    {"model", "residual_in_fp32", T::Boolean, "true", {}, "",
     "must be true: Krait keeps the residual stream in fp32", kMamba},
    {"model", "selective", T::Subset, "true", {"delta", "B", "C"}, "",
     "which of delta, B and C depend on the input (false: the time-invariant ablation)", kMamba},
    {"model", "conv", T::Boolean, "true", {}, "", "the causal convolution before the scan (false: ablation)",
     kMamba},
    {"model", "gate", T::Boolean, "true", {}, "", "the scan's output gated by silu(z) (false: ablation)", kMamba},
    {"model", "a_init", T::Choice, "s4d_real", {"s4d_real", "s4d_lin_real", "random"}, "",
     "initialization of A: -(n + 1), -1/2, or -exp(N(0, 1))", kMamba},
    {"model", "moe_experts", T::Integer, "", {}, ">= 1", "experts in each MoE layer; required", kMoe},
    {"model", "moe_top_k", T::Integer, "1", {}, "1..`moe_experts`", "experts each token is routed to (1: Switch)",
     kMoe},
    {"model", "moe_capacity_factor", T::Number, "1", {}, "> 0",
     "an expert takes ceil(factor x top_k x tokens / experts) tokens a batch; the rest pass it by", kMoe},
    {"model", "moe_aux_weight", T::Number, "0.01", {}, ">= 0",
     "weight of the load-balancing loss (its mean over the MoE layers) in the training loss", kMoe},
    {"model", "moe_hidden", T::IntegerOrAuto, "auto", {}, "> 0", "each expert's hidden width; auto = 3 x `d_model`",
     kMoe},
    {"model", "moe_expert_parallel", T::Boolean, "false", {}, "",
     "with several ranks, each holds `moe_experts` / ranks of every MoE layer's experts and tokens travel to "
     "them all-to-all (a multiple of the ranks; not with `train.zero1` or `train.init_from` yet)", kMoe},

    {"model", "size", T::Choice, "", {"125M", "350M", "760M", "1.3B"}, "",
     "a GPT-3 shape: sets `d_model`, `n_layer` and `n_head` unless they are given too", kTransformer},
    {"model", "n_head", T::Integer, "", {}, "> 0",
     "attention heads, each `d_model` / `n_head` wide (even); required, or `size`", kTransformer},
    {"model", "d_ff", T::IntegerOrAuto, "auto", {}, "> 0",
     "SwiGLU hidden width; auto = 8 `d_model` / 3 rounded up to a multiple of 128", kTransformer},
    {"model", "rope_theta", T::Number, "10000", {}, "> 0", "base of the rotary embeddings", kTransformer},

    {"data", "train", T::String, "", {}, "",
     "training data (a path; fasta and wav: several joined with `,`); required but for synthetic"},
    {"data", "valid", T::String, "\"\"", {}, "", "validation data, as `train`; empty: no evaluation"},
    {"data", "seq_len", T::Integer, "256", {}, "> 0", "ids per sequence (a classification window, or LM inputs)"},
    {"data", "batch_size", T::Integer, "16", {}, "> 0", "sequences per optimizer step, summed over all ranks"},
    {"data", "format", T::Choice, "tokens", {"tokens", "hdf5", "fasta", "wav", "synthetic"}, "",
     "token files, `krait-prepare`'s .h5, FASTA (plain or gzip), WAV files and folders, or generated tasks"},
    {"data", "manifest", T::String, "\"\"", {}, "",
     "fasta, wav: a TSV file of `key<TAB>class` lines giving the labels"},
    {"data", "label_by", T::Choice, "file", {"file", "record"}, "",
     "fasta: a manifest key names a file or a record"},
    {"data", "reverse_complement", T::Boolean, "false", {}, "",
     "DNA (hdf5, fasta): half the training windows reverse-complemented"},
    {"data", "sample_rate", T::Integer, "16000", {}, "> 0", "wav (and hdf5 audio): samples per second"},
    {"data", "resample", T::Boolean, "false", {}, "", "wav: resample other rates rather than reject them"},
    {"data", "quantize", T::Choice, "mu-law", {"mu-law", "linear"}, "",
     "wav: 8-bit mu-law, or linear in `quantize_bits`"},
    {"data", "quantize_bits", T::Integer, "8", {}, "in [1, 16]", "wav, linear: 2^`quantize_bits` classes"},
    {"data", "labels", T::Choice, "none", {"none", "folder", "manifest"}, "",
     "wav: no labels, each file's folder, or `manifest`"},
    {"data", "clip_samples", T::Integer, "0", {}, ">= 0", "wav: every clip padded or cut to this; 0 = as recorded"},
    {"data", "task", T::String, "selective-copying", {}, "",
     "synthetic: `selective-copying` or `induction-heads`"},
    {"data", "copy_tokens", T::Integer, "16", {}, "1 to seq_len / 2",
     "synthetic, selective copying: the tokens to memorize"},
    {"data", "eval_examples", T::Integer, "1024", {}, ">= 1", "synthetic: the fixed validation set's size"},
    {"data", "tokenizer", T::String, "\"\"", {}, "",
     "tokens: what the ids mean, for `krait generate`: empty = bytes; a BPE tokenizer.json, GPT-2's "
     "encoder.json or a directory of them"},

    {"optim", "lr", T::Number, "0.001", {}, "> 0", "peak learning rate, reached at the end of warmup"},
    {"optim", "betas", T::NumberPair, "[0.9, 0.95]", {}, "each in [0, 1)", "AdamW's beta1 and beta2"},
    {"optim", "eps", T::Number, "1e-08", {}, "> 0", "AdamW's epsilon"},
    {"optim", "weight_decay", T::Number, "0.1", {}, ">= 0", "decoupled weight decay"},
    {"optim", "grad_clip", T::Number, "1", {}, ">= 0", "largest global gradient L2 norm; 0 = off"},

    {"schedule", "warmup_steps", T::Integer, "0", {}, ">= 0",
     "steps of linear warmup from 0 to `optim.lr` (at most the total steps)"},
    {"schedule", "total_steps", T::Integer, "", {}, "> 0",
     "run length in optimizer steps; give exactly one of `total_steps` and `total_tokens`"},
    {"schedule", "total_tokens", T::Integer, "", {}, "> 0",
     "run length in tokens, rounded up to whole steps of `data.batch_size` x `data.seq_len`"},
    {"schedule", "min_lr", T::Number, "0", {}, ">= 0", "learning rate at the last step (at most `optim.lr`)"},
    {"schedule", "decay", T::Choice, "cosine", {"cosine", "linear", "constant"}, "",
     "from `optim.lr` to `min_lr` after warmup"},

    {"train", "seed", T::Integer, "0", {}, ">= 0", "seed of the initialization and the data order"},
    {"train", "device", T::String, "cpu", {}, "", "`cpu`, `cuda` or `cuda:N`"},
    {"train", "micro_batch", T::IntegerOrAuto, "auto", {}, "> 0",
     "sequences per forward pass per rank; `data.batch_size` = `micro_batch` x `grad_accum` x ranks"},
    {"train", "grad_accum", T::IntegerOrAuto, "auto", {}, "> 0",
     "micro-batches per optimizer step per rank (auto: solved; both auto: 1)"},
    {"train", "eval_interval", T::Integer, "0", {}, ">= 0", "steps between evaluations; 0 = only at the end"},
    {"train", "checkpoint_interval", T::Integer, "0", {}, ">= 0",
     "steps between checkpoints; 0 = only at the end"},
    {"train", "run_dir", T::String, "runs/default", {}, "", "folder of checkpoints, metrics and the resolved recipe"},
    {"train", "keep_checkpoints", T::Integer, "3", {}, ">= 1", "the newest checkpoints kept"},
    {"train", "log_interval", T::Integer, "10", {}, ">= 1", "steps between progress lines"},
    {"train", "precision", T::Choice, "fp32", {"fp32", "bf16"}, "",
     "bf16: fp32 master weights and residual stream, bf16 matmuls, convolutions and scans"},
    {"train", "on_nonfinite", T::Choice, "stop", {"stop", "skip"}, "",
     "a step with a non-finite loss or gradient norm stops the run, or is skipped"},
    {"train", "max_nonfinite_skips", T::Integer, "10", {}, ">= 0",
     "skip: the run stops after more skipped steps than this"},
    {"train", "init_from", T::String, "\"\"", {}, "",
     "a pretrained checkpoint or run folder: parameters loaded by name where the shapes agree"},
    {"train", "freeze", T::StringList, "[]", {}, "",
     "parameters matching a pattern (`*`: any characters) are not trained, e.g. `[\"embedding.*\"]`"},
    {"train", "dist_timeout_s", T::Integer, "300", {}, "> 0",
     "data-parallel: seconds a rank waits for the others before all stop"},
    {"train", "bucket_mb", T::Integer, "25", {}, "> 0",
     "data-parallel: MiB of f32 gradients per collective; each starts as soon as the backward has finished its bucket"},
    {"train", "zero1", T::Boolean, "false", {}, "", "data-parallel: the AdamW state sharded over the ranks (ZeRO-1)"},
    {"train", "recompute", T::Boolean, "false", {}, "",
     "each layer keeps only its input and runs again in the backward: less activation memory, about one more forward"},

    {"eval", "max_batches", T::Integer, "0", {}, ">= 0", "batches per evaluation; 0 = the whole validation set"},
    {"eval", "batch_size", T::IntegerOrAuto, "auto", {}, "> 0",
     "sequences per forward pass per rank; auto = the training micro-batch"},
};

const std::vector<RecipeSection> kSections = {
    {"model", "The backbone, its shape and the head"},
    {"data", "The training and validation data"},
    {"optim", "AdamW"},
    {"schedule", "The run length and the learning-rate schedule"},
    {"train", "How the run executes: seed, device, batch split, intervals, checkpoints"},
    {"eval", "Evaluation on `data.valid`"},
};

}  // namespace

bool RecipeKey::applies_to(std::string_view backbone) const {
  return backbones.empty() || std::find(backbones.begin(), backbones.end(), backbone) != backbones.end();
}

const std::vector<RecipeSection>& recipe_sections() { return kSections; }

const std::vector<RecipeKey>& recipe_keys() { return kKeys; }

const RecipeKey* find_recipe_key(std::string_view section, std::string_view name, std::string_view backbone) {
  for (const RecipeKey& key : kKeys) {
    if (key.section == section && key.name == name && key.applies_to(backbone)) return &key;
  }
  return nullptr;
}

const char* key_type_name(KeyType type) {
  switch (type) {
    case KeyType::Integer: return "integer";
    case KeyType::IntegerOrAuto: return "integer or auto";
    case KeyType::Number: return "number";
    case KeyType::NumberPair: return "[number, number]";
    case KeyType::Boolean: return "true or false";
    case KeyType::String: return "string";
    case KeyType::StringList: return "list of strings";
    case KeyType::Choice: return "one of";
    case KeyType::Subset: return "true, false or a list of";
  }
  return "?";
}

}  // namespace krait::train
