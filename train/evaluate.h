// train/evaluate.h — one deterministic pass over a validation source: mean next-token loss
// (nats), perplexity exp(loss), and bits per token (= bits per byte for byte-level data).
#pragma once

#include <cstdint>

#include "data/batch.h"
#include "data/token_source.h"
#include "layers/mamba_lm.h"

namespace krait::train {

struct EvalResult {
  double loss = 0;  // mean negative log-likelihood per target token, in nats
  int64_t tokens = 0;
  double perplexity() const;
  double bits_per_token() const;
};

// ids/targets tensors (rows, seq_len) i32 on `device` from a host batch.
std::pair<Tensor, Tensor> batch_tensors(const data::Batch& batch, Device device);

EvalResult evaluate(const MambaLM& model, const data::TokenSource& source, int64_t batch_size,
                    int64_t seq_len, int64_t max_batches, Device device);

}  // namespace krait::train
