// layers/sequence_classifier.h — SequenceClassifier: a backbone under a sequence-classification
// head: the hidden states pooled over time (the mean over each row's real positions, or its last
// one), then `classifier.weight` (classes, d_model) and `classifier.bias` (classes) to logits; the
// loss is cross-entropy against the per-sequence labels.
#pragma once

#include <memory>

#include "common/rng.h"
#include "layers/backbone.h"
#include "layers/model.h"

namespace krait {

class SequenceClassifier : public Model {
 public:
  // The head draws its weight from rng after the backbone (U(±1/sqrt(d_model)), bias 0).
  SequenceClassifier(std::unique_ptr<Backbone> backbone, int64_t num_classes, ops::PoolMode pool,
                     const TensorOptions& options, Rng& rng);

  Task task() const override { return Task::Classify; }
  ModelOutput forward(const ModelBatch& batch, ops::Reduction reduction = ops::Reduction::Mean) const override;
  const ParameterList& parameters() const override { return parameters_; }
  void set_compute_dtype(DType dtype) override { backbone_->set_compute_dtype(dtype); }
  void set_recompute_layers(bool enabled) override { backbone_->set_recompute_layers(enabled); }
  DType compute_dtype() const override { return backbone_->compute_dtype(); }

  int64_t num_classes() const { return weight_.value.size(0); }

 private:
  std::unique_ptr<Backbone> backbone_;
  ops::PoolMode pool_;
  Parameter weight_, bias_;
  ParameterList parameters_;
};

}  // namespace krait
