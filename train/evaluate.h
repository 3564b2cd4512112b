// train/evaluate.h — one deterministic pass over a validation set. A language model gets its mean
// next-token loss (nats), perplexity exp(loss) and bits per token (= bits per byte for byte-level
// data); a classifier its mean loss, accuracy and confusion matrix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/sampler.h"
#include "dist/communicator.h"
#include "layers/model.h"

namespace krait::train {

struct EvalResult {
  Task task = Task::LM;
  double loss = 0;     // mean negative log-likelihood per counted target token or sequence, in nats
  int64_t count = 0;   // target tokens (LM) or sequences (classify) scored
  int64_t correct = 0;  // classify, or LM with token accuracy: argmax equal to the label or target
  std::vector<std::vector<int64_t>> confusion;  // classify: [true class][predicted class]
  // Mixture-of-experts backbones (moe.layers > 0): how routing went over the pass, on this rank.
  struct Moe {
    int64_t layers = 0;
    double aux_loss = 0;  // the weighted load-balancing loss, mean over the batches
    double dropped = 0;   // share of the routed choices no expert took
    // Rows each expert took relative to an even share of its layer's, over every MoE layer: the
    // smallest, the largest, and their coefficient of variation (standard deviation / mean).
    double load_min = 0, load_max = 0, load_cv = 0;
  } moe;

  double perplexity() const;
  double bits_per_token() const;
  double accuracy() const;
};

// A host batch's arrays as i32 tensors on `device`.
ModelBatch to_device(const data::Batch& batch, Device device);

// Scores every batch of the pass (reset first). num_classes sizes the confusion matrix (classify).
// token_accuracy: a language model's argmax is also compared with each counted target (it copies
// the logits to the host: meant for small vocabularies such as the synthetic tasks').
EvalResult evaluate(const Model& model, data::EvalPass& pass, int64_t num_classes, Device device,
                    bool token_accuracy = false);

// Sums each rank's result (its share of the validation windows) into the whole pass's, on every rank.
void sum_over_ranks(EvalResult& result, dist::Communicator& comm, Device device);

// The confusion matrix as an aligned text table with per-class recall, rows the true classes.
std::string format_confusion(const EvalResult& result, const std::vector<std::string>& class_names);

}  // namespace krait::train
