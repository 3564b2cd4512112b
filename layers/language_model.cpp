// layers/language_model.cpp — LanguageModel (see language_model.h).
#include "layers/language_model.h"

#include "common/error.h"
#include "layers/init.h"

namespace krait {
namespace {

Tensor next_token_loss(const Tensor& logits, const Tensor& targets, int64_t ignore_index, ops::Reduction reduction) {
  const int64_t rows = targets.numel(), vocab = logits.size(-1);
  return ops::cross_entropy(ops::reshape(logits, {rows, vocab}), targets.view({rows}), ignore_index, reduction);
}

}  // namespace

LanguageModel::LanguageModel(std::unique_ptr<Backbone> backbone, bool tie_embeddings, const TensorOptions& options,
                             Rng& rng)
    : backbone_(std::move(backbone)), parameters_(backbone_->parameters()) {
  if (!tie_embeddings) {
    const int64_t vocab = backbone_->input_embedding().value.size(0), d = backbone_->d_model();
    lm_head_ = init::uniform("lm_head.weight", {vocab, d}, options, rng, init::default_bound(d));
    parameters_.push_back(lm_head_);
  }
}

Tensor LanguageModel::forward(const Tensor& ids) const {
  const Tensor hidden = backbone_->forward(ids);
  const Tensor head = lm_head_.value.defined() ? lm_head_.value : backbone_->input_embedding().value;
  return ops::matmul(hidden, ops::cast(head, compute_dtype()), false, true);
}

Tensor LanguageModel::loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index,
                           ops::Reduction reduction) const {
  KRAIT_CHECK(targets.shape() == ids.shape(), "LanguageModel::loss: targets ", targets.describe(),
              " do not match ids ", ids.describe());
  return next_token_loss(forward(ids), targets, ignore_index, reduction);
}

ModelOutput LanguageModel::forward(const ModelBatch& batch, ops::Reduction reduction) const {
  KRAIT_CHECK(batch.targets.defined(), "LanguageModel: the batch has no targets (a classification batch?)");
  KRAIT_CHECK(batch.targets.shape() == batch.ids.shape(), "LanguageModel: targets ", batch.targets.describe(),
              " do not match ids ", batch.ids.describe());
  ModelOutput out;
  out.logits = forward(batch.ids);
  out.loss = next_token_loss(out.logits, batch.targets, -100, reduction);
  return out;
}

}  // namespace krait
