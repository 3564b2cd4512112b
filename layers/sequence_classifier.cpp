// layers/sequence_classifier.cpp — SequenceClassifier (see sequence_classifier.h).
#include "layers/sequence_classifier.h"

#include "common/error.h"
#include "layers/init.h"

namespace krait {

SequenceClassifier::SequenceClassifier(std::unique_ptr<Backbone> backbone, int64_t num_classes, ops::PoolMode pool,
                                       const TensorOptions& options, Rng& rng)
    : backbone_(std::move(backbone)), pool_(pool), parameters_(backbone_->parameters()) {
  KRAIT_CHECK(num_classes >= 2, "SequenceClassifier: num_classes must be >= 2, got ", num_classes);
  const int64_t d = backbone_->d_model();
  weight_ = init::uniform("classifier.weight", {num_classes, d}, options, rng, init::default_bound(d));
  bias_ = init::constant("classifier.bias", {num_classes}, options, 0.0, ParamTags{.no_weight_decay = true});
  parameters_.push_back(weight_);
  parameters_.push_back(bias_);
}

ModelOutput SequenceClassifier::forward(const ModelBatch& batch, ops::Reduction reduction) const {
  KRAIT_CHECK(batch.labels.defined(), "SequenceClassifier: the batch has no labels (a language-model batch?)");
  KRAIT_CHECK(batch.labels.dim() == 1 && batch.ids.dim() == 2 && batch.labels.size(0) == batch.ids.size(0),
              "SequenceClassifier: labels ", batch.labels.describe(), " do not match ids ", batch.ids.describe());
  const DType dtype = compute_dtype();
  const BackboneOutput body = backbone_->forward_with_aux(batch.ids);
  const Tensor pooled = ops::pool_sequence(body.hidden, batch.lengths, pool_);
  ModelOutput out;
  out.logits = ops::add(ops::matmul_weight(weight_.value, pooled, false, true, false), ops::cast(bias_.value, dtype));
  out.loss = ops::cross_entropy(out.logits, batch.labels, -100, reduction);
  attach_aux(body, out);
  return out;
}

}  // namespace krait
