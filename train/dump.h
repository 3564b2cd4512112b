// train/dump.h — `krait dump`: one forward, loss and backward of a loaded model on a deterministic
// random batch (or the ids of a file), written to an HDF5 file (through CheckpointWriter) for comparison with an
// independent implementation (tools/torch_check.py rebuilds the model in PyTorch).
//
// The file holds: ids, targets (i64, (batch, seq_len)); logits (f32, (batch, seq_len, padded
// vocab), converted from bf16 under mixed precision; f64 for an f64 model); loss (f64, mean
// cross-entropy); grad/<param> (f32; f64 for an f64 model) for every parameter; config/<field> (the model's MambaConfig, ints and doubles; booleans
// as 0/1; dt_rank resolved, padded_vocab_size added); compute_dtype and device (strings).
#pragma once

#include <cstdint>
#include <string>

#include "layers/mamba_config.h"
#include "layers/model.h"

namespace krait::train {

struct DumpOptions {
  int64_t batch = 2;
  int64_t seq_len = 64;
  uint64_t seed = 0;  // of the random token ids
  // A file of ids to use instead: whitespace-separated decimal ids, or a token shard
  // (data/token_shard.h). Its first batch x (seq_len + 1) ids make the rows (ids: each row's first
  // seq_len, targets: its last seq_len); it must hold that many, each below the model's vocab_size.
  std::string tokens_path;
  // The parameters' dtype: F32, or F64 (CPU only, for exact comparisons).
  DType dtype = DType::F32;
};

struct DumpResult {
  double loss = 0;
  int64_t parameters = 0;  // entries under grad/
};

// Runs model (a language model of the given Mamba shape) on the options' batch on device and writes
// out_path. The model's gradients must be zero on entry (a freshly loaded model); they hold this
// batch's gradients on return.
DumpResult dump_gradients(const Model& model, const MambaConfig& config, Device device, const DumpOptions& options,
                          const std::string& out_path);

}  // namespace krait::train
