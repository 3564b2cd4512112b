// layers/language_model.cpp — LanguageModel (see language_model.h).
#include "layers/language_model.h"

#include <algorithm>

#include "autograd/cuda_graph.h"
#include "autograd/tape.h"
#include "common/error.h"
#include "layers/init.h"

namespace krait {
namespace {

// The softmax runs over the real vocabulary only: the padded rows' logits take no probability mass.
Tensor next_token_loss(const Tensor& logits, const Tensor& targets, int64_t vocab_size, int64_t ignore_index,
                       ops::Reduction reduction) {
  const int64_t rows = targets.numel(), width = logits.size(-1);
  return ops::cross_entropy(ops::reshape(logits, {rows, width}), targets.view({rows}), ignore_index, reduction,
                            vocab_size);
}

// Generation through the backbone's recurrence: a prefill is the prompts' forward, a step that of
// one token each, and the head runs on the last position only. On CUDA the steps after the first
// replay a graph of the whole step (its hundreds of small kernels in one launch): the first step runs
// eagerly, which leaves the allocator holding every block a step needs and the products' algorithms
// chosen, then the second records the graph, reading its ids from step_ids_ and writing step_logits_.
class LanguageModelGenerator final : public Generator {
 public:
  LanguageModelGenerator(const LanguageModel& model, std::unique_ptr<BackboneRecurrence> recurrence)
      : model_(model), recurrence_(std::move(recurrence)), head_(cast_head(model)) {}

  Tensor prefill(const Tensor& ids) override {
    KRAIT_CHECK(ids.dim() == 2 && ids.size(1) >= 1, "Generator::prefill: expected ids (batch, len >= 1), got ",
                ids.describe());
    return last_logits(ids);
  }
  Tensor step(const Tensor& ids) override {
    KRAIT_CHECK(ids.dim() == 1, "Generator::step: expected ids (batch), got ", ids.describe());
    const Tensor column = ids.view({ids.size(0), 1});
    if (!head_.device().is_cuda() || steps_++ == 0) return last_logits(column);
    if (!graph_) {
      step_ids_ = Tensor::empty(column.shape(), DType::I32, head_.device());
      graph_ = std::make_unique<cuda::CudaGraph>(head_.device().index, [&] { step_logits_ = last_logits(step_ids_); });
    }
    step_ids_.copy_from(column);
    graph_->replay();
    return step_logits_;
  }

 private:
  Tensor last_logits(const Tensor& ids) {
    const Tensor hidden = recurrence_->advance(ids);
    NoGradGuard no_grad;
    const int64_t len = hidden.size(1);
    return model_.logits(ops::reshape(ops::slice(hidden, 1, len - 1, len), {hidden.size(0), hidden.size(2)}), head_);
  }
  static Tensor cast_head(const LanguageModel& model) {
    NoGradGuard no_grad;
    return ops::cast(model.head_weight(), model.compute_dtype());
  }

  const LanguageModel& model_;
  std::unique_ptr<BackboneRecurrence> recurrence_;
  Tensor head_;  // the head's weight in the compute dtype
  int64_t steps_ = 0;
  Tensor step_ids_, step_logits_;  // the graph's input (B, 1) and output (B, padded vocab)
  std::unique_ptr<cuda::CudaGraph> graph_;  // last: destroyed before the states and tensors it reads
};

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

Tensor LanguageModel::forward(const Tensor& ids) const { return logits(backbone_->forward(ids)); }

const Tensor& LanguageModel::head_weight() const {
  return lm_head_.value.defined() ? lm_head_.value : backbone_->input_embedding().value;
}

int64_t LanguageModel::loss_chunk_rows() const {
  constexpr int64_t kChunkLogits = int64_t(1) << 29;  // elements: 1 GB in bf16
  if (loss_chunk_rows_ > 0) return loss_chunk_rows_;
  return std::max<int64_t>(1, kChunkLogits / head_weight().size(0));
}

Tensor LanguageModel::logits(const Tensor& hidden) const { return logits(hidden, ops::cast(head_weight(), compute_dtype())); }

Tensor LanguageModel::logits(const Tensor& hidden, const Tensor& head) const {
  return ops::matmul(hidden, head, false, true);
}

std::unique_ptr<Generator> LanguageModel::generator(int64_t batch) const {
  std::unique_ptr<BackboneRecurrence> recurrence = backbone_->recurrence(batch);
  if (!recurrence) return nullptr;
  return std::make_unique<LanguageModelGenerator>(*this, std::move(recurrence));
}

Tensor LanguageModel::loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index,
                           ops::Reduction reduction) const {
  KRAIT_CHECK(targets.shape() == ids.shape(), "LanguageModel::loss: targets ", targets.describe(),
              " do not match ids ", ids.describe());
  return next_token_loss(forward(ids), targets, backbone_->vocab_size(), ignore_index, reduction);
}

ModelOutput LanguageModel::forward(const ModelBatch& batch, ops::Reduction reduction) const {
  KRAIT_CHECK(batch.targets.defined(), "LanguageModel: the batch has no targets (a classification batch?)");
  KRAIT_CHECK(batch.targets.shape() == batch.ids.shape(), "LanguageModel: targets ", batch.targets.describe(),
              " do not match ids ", batch.ids.describe());
  const BackboneOutput body = backbone_->forward_with_aux(batch.ids);
  ModelOutput out;
  out.classes = backbone_->vocab_size();
  if (grad_enabled() && !batch.keep_logits) {  // training: the head fused into the loss, no logits kept
    const int64_t rows = batch.targets.numel();
    out.loss = ops::linear_cross_entropy(ops::reshape(body.hidden, {rows, body.hidden.size(-1)}),
                                         ops::cast(head_weight(), compute_dtype()), batch.targets.view({rows}), -100,
                                         reduction, backbone_->vocab_size(), loss_chunk_rows());
  } else {
    out.logits = logits(body.hidden);
    out.loss = next_token_loss(out.logits, batch.targets, backbone_->vocab_size(), -100, reduction);
  }
  attach_aux(body, out);
  return out;
}

}  // namespace krait
