// layers/language_model.h — LanguageModel: a backbone under a language-model head (next token, next
// base, next audio sample): logits = hidden · W^T over the padded vocabulary, W tied to the input
// embedding or its own `lm_head.weight`; the loss is next-token cross-entropy over the real vocabulary
// (the padded columns are left out of the softmax, so padding changes no loss and no gradient).
#pragma once

#include <memory>

#include "common/rng.h"
#include "layers/backbone.h"
#include "layers/model.h"

namespace krait {

class LanguageModel : public Model {
 public:
  // An untied head draws its weight from rng after the backbone.
  LanguageModel(std::unique_ptr<Backbone> backbone, bool tie_embeddings, const TensorOptions& options, Rng& rng);

  Task task() const override { return Task::LM; }
  ModelOutput forward(const ModelBatch& batch, ops::Reduction reduction = ops::Reduction::Mean) const override;
  const ParameterList& parameters() const override { return parameters_; }
  void set_compute_dtype(DType dtype) override { backbone_->set_compute_dtype(dtype); }
  void set_recompute_layers(bool enabled) override { backbone_->set_recompute_layers(enabled); }
  DType compute_dtype() const override { return backbone_->compute_dtype(); }
  // Through the backbone's recurrence; nullptr when it has none.
  std::unique_ptr<Generator> generator(int64_t batch) const override;

  Tensor forward(const Tensor& ids) const;  // ids (B, L) -> logits (B, L, padded vocab)
  // Next-token cross-entropy of forward(ids) against targets (B, L), averaged over (or summed over)
  // the targets that are not ignore_index.
  Tensor loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index = -100,
              ops::Reduction reduction = ops::Reduction::Mean) const;
  const Backbone& backbone() const { return *backbone_; }
  // The head: hidden (..., d_model) -> logits (..., padded vocab); with `head`, a copy of head_weight()
  // already in the compute dtype (a generator casts it once, not at every token).
  Tensor logits(const Tensor& hidden) const;
  Tensor logits(const Tensor& hidden, const Tensor& head) const;
  // W: lm_head.weight, or the input embedding when tied.
  const Tensor& head_weight() const;
  // The rows whose logits one chunk of the training loss (ops::linear_cross_entropy) holds: by default
  // about 1 GB of bf16 logits (2^29 elements); 0 restores the default.
  int64_t loss_chunk_rows() const;
  void set_loss_chunk_rows(int64_t rows) { loss_chunk_rows_ = rows; }

 private:
  std::unique_ptr<Backbone> backbone_;
  Parameter lm_head_;  // value undefined when tied to the embedding
  ParameterList parameters_;
  int64_t loss_chunk_rows_ = 0;
};

}  // namespace krait
