// layers/backbone.h — Backbone, the body of a sequence model: ids in, final normalized hidden states
// out, with the input embedding exposed so that a language-model head can tie to it. Heads
// (layers/language_model.h, layers/sequence_classifier.h) sit on any backbone.
#pragma once

#include <cstdint>

#include "autograd/parameter.h"

namespace krait {

class Backbone {
 public:
  virtual ~Backbone() = default;

  // ids (B, L) i32/i64 -> hidden states (B, L, d_model) in the compute dtype.
  virtual Tensor forward(const Tensor& ids) const = 0;
  virtual const ParameterList& parameters() const = 0;
  virtual const Parameter& input_embedding() const = 0;  // (padded vocab, d_model)
  virtual int64_t d_model() const = 0;
  virtual void set_compute_dtype(DType dtype) = 0;
  virtual DType compute_dtype() const = 0;
};

}  // namespace krait
