// layers/model_registry.cpp — backbone_names and build_model (see model_spec.h): one registry entry
// per backbone; the heads are the same for all.
#include <functional>
#include <map>

#include "common/error.h"
#include "layers/language_model.h"
#include "layers/mamba_backbone.h"
#include "layers/model_spec.h"
#include "layers/sequence_classifier.h"
#include "layers/transformer_backbone.h"

namespace krait {
namespace {

struct BuiltBackbone {
  std::unique_ptr<Backbone> backbone;
  bool tie_embeddings = true;  // for a language-model head
};

using BackboneFactory = std::function<BuiltBackbone(const ModelSpec&, const TensorOptions&, Rng&,
                                                    std::shared_ptr<const ExpertExchange>)>;

const std::map<std::string, BackboneFactory>& registry() {
  static const std::map<std::string, BackboneFactory> entries = {
      {"mamba",
       [](const ModelSpec& spec, const TensorOptions& options, Rng& rng, std::shared_ptr<const ExpertExchange>) {
         KRAIT_CHECK(!spec.mamba.moe.enabled(), "model.backbone: mamba has no MoE layers; use moe-mamba for "
                     "model.moe_experts = ", spec.mamba.moe.experts);
         return BuiltBackbone{std::make_unique<MambaBackbone>(spec.mamba, options, rng), spec.mamba.tie_embeddings};
       }},
      {"moe-mamba",  // the same backbone with its MoE layers on; model.moe_experts must be given
       [](const ModelSpec& spec, const TensorOptions& options, Rng& rng, std::shared_ptr<const ExpertExchange> ex) {
         KRAIT_CHECK(spec.mamba.moe.enabled(), "model.backbone: moe-mamba needs model.moe_experts >= 1");
         return BuiltBackbone{std::make_unique<MambaBackbone>(spec.mamba, options, rng, std::move(ex)),
                              spec.mamba.tie_embeddings};
       }},
      {"transformer",
       [](const ModelSpec& spec, const TensorOptions& options, Rng& rng, std::shared_ptr<const ExpertExchange>) {
         return BuiltBackbone{std::make_unique<TransformerBackbone>(spec.transformer, options, rng),
                              spec.transformer.tie_embeddings};
       }},
  };
  return entries;
}

}  // namespace

const char* task_name(Task task) { return task == Task::LM ? "lm" : "classify"; }

void attach_aux(const BackboneOutput& from, ModelOutput& out) {
  out.aux_loss = from.aux_loss;
  out.expert_loads = from.expert_loads;
  if (from.aux_loss.defined() && grad_enabled()) out.loss = ops::add(out.loss, ops::cast(from.aux_loss, out.loss.dtype()));
}

int64_t Model::num_parameters() const {
  int64_t n = 0;
  for (const Parameter& p : parameters()) n += p.value.numel();
  return n;
}

std::vector<std::string> backbone_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

std::unique_ptr<Model> build_model(const ModelSpec& spec, uint64_t seed, const TensorOptions& options,
                                   std::shared_ptr<const ExpertExchange> exchange) {
  const auto entry = registry().find(spec.backbone);
  if (entry == registry().end()) {
    std::string names;
    for (const std::string& name : backbone_names()) names += (names.empty() ? "" : ", ") + name;
    KRAIT_FAIL("model.backbone: unknown backbone '", spec.backbone, "'; expected one of ", names);
  }
  Rng rng(seed);
  BuiltBackbone built = entry->second(spec, options, rng, std::move(exchange));
  if (spec.task == Task::LM)
    return std::make_unique<LanguageModel>(std::move(built.backbone), built.tie_embeddings, options, rng);
  return std::make_unique<SequenceClassifier>(std::move(built.backbone), spec.num_classes, spec.pool, options, rng);
}

}  // namespace krait
