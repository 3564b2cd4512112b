// layers/backbone.h — Backbone, the body of a sequence model: ids in, final normalized hidden states
// out, with the input embedding exposed so that a language-model head can tie to it. Heads
// (layers/language_model.h, layers/sequence_classifier.h) sit on any backbone.
#pragma once

#include <cstdint>
#include <memory>

#include <vector>

#include "autograd/parameter.h"
#include "layers/expert_load.h"
#include "layers/model.h"

namespace krait {

// A backbone run recurrently, for generation: it holds the state of a batch of sequences, from their
// start, and advances it over each call's ids.
class BackboneRecurrence {
 public:
  virtual ~BackboneRecurrence() = default;
  // ids (B, L) continuing the sequences -> hidden states (B, L, d_model) in the compute dtype. No
  // gradient is recorded.
  virtual Tensor advance(const Tensor& ids) = 0;
};

// A forward's hidden states and what else it yields: the mixture-of-experts layers' weighted
// load-balancing loss (undefined without such layers), which training adds to its loss, and each MoE
// layer's load.
struct BackboneOutput {
  Tensor hidden;
  Tensor aux_loss;
  std::vector<ExpertLoad> expert_loads;
};

// A head's part of the auxiliary outputs: they go into out, and the aux loss into out.loss where the
// tape records (the training objective); evaluation's loss stays the task's.
void attach_aux(const BackboneOutput& from, ModelOutput& out);

class Backbone {
 public:
  virtual ~Backbone() = default;

  // ids (B, L) i32/i64 -> hidden states (B, L, d_model) in the compute dtype.
  virtual Tensor forward(const Tensor& ids) const = 0;
  // The same with the auxiliary outputs; heads train through this one.
  virtual BackboneOutput forward_with_aux(const Tensor& ids) const { return {forward(ids), {}, {}}; }
  virtual const ParameterList& parameters() const = 0;
  virtual const Parameter& input_embedding() const = 0;  // (padded vocab, d_model)
  // The vocabulary's real size: input_embedding()'s rows past it are padding (for speed), which no
  // input uses and a language-model head's loss leaves out.
  virtual int64_t vocab_size() const = 0;
  virtual int64_t d_model() const = 0;
  virtual void set_compute_dtype(DType dtype) = 0;
  virtual DType compute_dtype() const = 0;
  // Training memory for compute: when on, forward() keeps each layer's input and recomputes the layer
  // in the backward (ops::recompute), with the same results. Off by default; recurrences ignore it.
  virtual void set_recompute_layers(bool enabled) = 0;
  // Generation: a recurrence over `batch` sequences, or nullptr when the backbone cannot run one
  // token at a time (the Transformer, until it has a KV cache).
  virtual std::unique_ptr<BackboneRecurrence> recurrence(int64_t /*batch*/) const { return nullptr; }
};

}  // namespace krait
