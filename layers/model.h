// layers/model.h — Model, what the trainer, evaluation, dump, bench and the CLI see of a network:
// a forward from a ModelBatch to a loss and outputs, its named and tagged parameters, its compute
// dtype, and optionally a Generator (layers/generator.h). Backbones (layers/backbone.h) and heads
// (language model, classifier) make one; build_model (layers/model_registry.h) makes one from a
// ModelSpec.
#pragma once

#include <cstdint>
#include <memory>

#include "autograd/ops.h"
#include "autograd/parameter.h"
#include "layers/expert_load.h"
#include "layers/generator.h"

namespace krait {

enum class Task { LM, Classify };
const char* task_name(Task task);

// A batch on the model's device. ids (B, L) i32. For Task::LM, targets (B, L) i32: the next id, or
// -100 where no loss is wanted. For Task::Classify, labels (B) i32; lengths (B) i32 optionally
// gives each row's number of real ids (undefined = all L).
struct ModelBatch {
  Tensor ids;
  Tensor targets;
  Tensor labels;
  Tensor lengths;
  // Where the tape records (training), a language model fuses its head into the loss and returns no
  // logits (they would be the largest activation); true asks for them anyway (krait dump).
  bool keep_logits = false;
};

struct ModelOutput {
  Tensor loss;    // [] mean (or sum) over the targets or labels counted
  Tensor logits;  // LM: (B, L, padded vocab), undefined in training (ModelBatch::keep_logits); Classify:
                  // (B, classes); in the compute dtype
  // The logits' first columns that are classes (LM: the real vocabulary; the padded columns after it
  // are no prediction); 0 = every column.
  int64_t classes = 0;
  // Mixture-of-experts backbones: the weighted load-balancing loss, which `loss` includes where the
  // tape records (training) and leaves out otherwise (evaluation's loss is the task's alone), and each
  // MoE layer's load. Undefined / empty for other backbones.
  Tensor aux_loss;
  std::vector<ExpertLoad> expert_loads;
};

class Model {
 public:
  virtual ~Model() = default;

  virtual Task task() const = 0;
  virtual ModelOutput forward(const ModelBatch& batch, ops::Reduction reduction = ops::Reduction::Mean) const = 0;
  // Every parameter with a unique dotted name; weight-decay groups follow their tags.
  virtual const ParameterList& parameters() const = 0;
  // bf16 (CUDA only) for mixed precision with fp32 master weights; by default the parameters' own.
  virtual void set_compute_dtype(DType dtype) = 0;
  virtual DType compute_dtype() const = 0;
  // Per-layer activation recomputation in the backbone (Backbone::set_recompute_layers).
  virtual void set_recompute_layers(bool enabled) = 0;
  // Recurrent generation over `batch` sequences, or nullptr when the model cannot generate (a
  // classifier; a backbone without a recurrence). The generator refers to this model.
  virtual std::unique_ptr<Generator> generator(int64_t /*batch*/) const { return nullptr; }

  int64_t num_parameters() const;
};

}  // namespace krait
