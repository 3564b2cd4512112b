// layers/model_spec.h — ModelSpec, what a recipe's `model` section and `task` choose: the backbone by
// name with its configuration, and the head (language model, or a classifier with its pooling);
// build_model makes the Model, by a registry of backbone names.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/expert_exchange.h"
#include "layers/mamba_config.h"
#include "layers/model.h"
#include "layers/transformer_config.h"

namespace krait {

struct ModelSpec {
  std::string backbone = "mamba";  // a name from backbone_names()
  Task task = Task::LM;
  MambaConfig mamba;               // the `mamba` backbone's shape (the model section's other keys)
  TransformerConfig transformer;   // the `transformer` backbone's shape, likewise
  int64_t num_classes = 0;         // Task::Classify: >= 2 (0 in a recipe = from the data's classes)
  ops::PoolMode pool = ops::PoolMode::Mean;

  bool operator==(const ModelSpec&) const = default;

  // The chosen backbone's vocabulary (unpadded), width and depth, for data checks and benchmarks.
  int64_t vocab_size() const { return is_transformer() ? transformer.vocab_size : mamba.vocab_size; }
  int64_t d_model() const { return is_transformer() ? transformer.d_model : mamba.d_model; }
  int64_t n_layer() const { return is_transformer() ? transformer.n_layer : mamba.n_layer; }
  bool is_transformer() const { return backbone == "transformer"; }
};

// The backbones build_model knows, for messages and recipe validation.
std::vector<std::string> backbone_names();

// Draws the backbone from Rng(seed), then the head, so a seed gives the same backbone whatever the
// head. Throws naming the field when the spec is out of range. `exchange`: the data-parallel ranks
// that MoE layers with moe.expert_parallel shard their experts over (null: unsharded).
std::unique_ptr<Model> build_model(const ModelSpec& spec, uint64_t seed, const TensorOptions& options,
                                   std::shared_ptr<const ExpertExchange> exchange = nullptr);

}  // namespace krait
