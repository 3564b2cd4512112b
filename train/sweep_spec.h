// train/sweep_spec.h — a sweep file (SweepSpec, read strictly by read_sweep) and its expansion into
// runs (SweepRun, by expand_sweep): every combination of architecture, size, learning rate and
// sequence length is one `krait train` run of the base recipe with `--set` overrides.
//
//   base: ../mamba-130m.yaml        # the base recipe, relative to the sweep file
//   out: runs/sweeps/paper-2048     # where run directories go, relative to the working directory
//   set: {train.eval_interval: 500} # optional overrides for every run, applied first
//   archs:                          # labels for plots and fits, each with overrides of its own
//     - {name: mamba, set: {model.backbone: mamba}}
//     - {name: transformer, set: {model.backbone: transformer}}
//     - {name: mamba-lti, set: {model.selective: false}}
//   sizes: [125M, {name: 350M, lr: 1.5e-3}, {d_model: 256, n_layer: 4}]
//   lrs: [3.0e-3, 1.5e-3]           # optional; default each size's lr, else the base recipe's
//   seq_lens: [2048]                # optional; default the base recipe's data.seq_len
//   tokens: chinchilla              # or tokens: N, or steps: N; neither: the base recipe's length
//   warmup_fraction: 0.1            # optional; warmup_steps = ceil(fraction x steps)
//
// Sizes. A name is a row of the Mamba paper's Table 12 (GPT-3's shapes): 125M, 350M, 760M, 1.3B; the
// Mamba names of the same rows, 130M, 370M, 790M, 1.4B, are accepted as aliases. An explicit size
// gives d_model and the Transformer's n_layer. Either way a size means one width and one depth for
// every architecture: the Transformer gets n_layer layers and n_head = d_model / 64 (at least 1; a
// named size uses GPT-3's heads), and any other backbone (Mamba) gets 2 x n_layer blocks, since a
// Mamba block has about half a Transformer layer's parameters (6 D^2 against 12 D^2).
//
// Learning rates. `lrs` is a grid axis (every size at every lr); a size's own `lr` (the paper's
// per-size peak) applies only when there is no `lrs`, so giving both is an error.
//
// Run length. `chinchilla` is 20 tokens per parameter, counting all parameters (Hoffmann et al.'s
// convention; train/flops.h, parameter_count), rounded up to whole steps of the run's
// batch_size x seq_len tokens. The length is written into whichever of schedule.total_steps and
// schedule.total_tokens the base recipe uses.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace krait::train {

struct SweepArch {
  std::string name;               // filesystem-safe: letters, digits, '-', '_', '.'
  std::vector<std::string> sets;  // "key.path=value", in the file's order
};

struct SweepSize {
  std::string name;     // as written ("125M"), or "d<d_model>-l<n_layer>" for an explicit size
  int64_t d_model = 0;
  int64_t n_layer = 0;  // the Transformer's count; Mamba gets twice as many
  int64_t n_head = 0;   // the Transformer's heads
  double lr = 0;        // this size's optim.lr when the sweep has no `lrs` (0: the base recipe's)
};

enum class SweepLength { Base, Chinchilla, Steps, Tokens };

struct SweepSpec {
  std::filesystem::path file;         // the sweep file, as given
  std::filesystem::path base_recipe;  // resolved against the sweep file's folder
  std::filesystem::path out_dir;      // as written: relative to the working directory
  std::vector<std::string> sets;      // overrides for every run ("key.path=value"), before the arch's
  std::vector<SweepArch> archs;
  std::vector<SweepSize> sizes;
  std::vector<double> lrs;            // empty: the base recipe's optim.lr
  std::vector<int64_t> seq_lens;      // empty: the base recipe's data.seq_len
  SweepLength length = SweepLength::Base;
  int64_t length_value = 0;           // Steps: steps; Tokens: tokens
  double warmup_fraction = -1;        // < 0: the base recipe's schedule.warmup_steps
};

struct SweepRun {
  std::string name;               // e.g. "mamba-125M-lr3e-3" (+ "-seq8192" with seq_lens), unique
  std::string arch;               // the SweepArch's name
  std::string size;               // the SweepSize's name
  std::filesystem::path run_dir;  // out_dir / name
  std::vector<std::string> sets;  // the --set overrides on top of the base recipe, in order
  double lr = 0;
  int64_t seq_len = 0;
  int64_t steps = 0;              // optimizer steps the run trains for
};

// Reads a sweep file strictly: unknown or duplicate keys, wrong types and empty lists are errors
// naming "file:line: key".
SweepSpec read_sweep(const std::filesystem::path& file);

// The runs, archs outermost, then sizes, lrs, seq_lens (each in the file's order). Loads the base
// recipe with each run's overrides, so a run the recipe would reject fails here, naming the run.
std::vector<SweepRun> expand_sweep(const SweepSpec& spec);

}  // namespace krait::train
