// layers/mamba_backbone.h — MambaBackbone: embedding, n_layer prenorm residual blocks
// (residual += mixer(RMSNorm(residual))) and the final RMSNorm, as the reference's MixerModel.
#pragma once

#include <optional>
#include <vector>

#include "common/rng.h"
#include "layers/backbone.h"
#include "layers/embedding.h"
#include "layers/mamba_mixer.h"
#include "layers/mamba_state.h"
#include "layers/rms_norm.h"
#include "layers/switch_moe.h"

namespace krait {

struct MambaBlock {
  RMSNorm norm;
  MambaMixer mixer;
  // MoE-Mamba (config.moe enabled): the block's second residual layer, residual += moe(moe_norm(residual)).
  std::optional<RMSNorm> moe_norm;
  std::optional<SwitchMoE> moe;
};

class MambaBackbone final : public Backbone {
 public:
  // Draws the embedding, then each layer, from rng (the reference's order); a head draws next. With
  // config.moe.expert_parallel the MoE layers shard their experts over `exchange`'s ranks.
  MambaBackbone(const MambaConfig& config, const TensorOptions& options, Rng& rng,
                std::shared_ptr<const ExpertExchange> exchange = nullptr);

  Tensor forward(const Tensor& ids) const override;
  BackboneOutput forward_with_aux(const Tensor& ids) const override;
  // The same for ids (B, L) continuing the sequences of `states` (one per layer, from
  // MambaLayerState::zeros: their start), which it advances; no gradient (under NoGradGuard).
  Tensor forward(const Tensor& ids, std::vector<MambaLayerState>& states) const;
  // One token per sequence, ids (B, 1), through MambaMixer::step with each layer's step weights.
  Tensor step(const Tensor& ids, std::vector<MambaLayerState>& states,
              const std::vector<MambaMixer::StepWeights>& weights) const;
  // Its recurrence holds every layer's state (in the compute dtype; the scan's in f32 under bf16) and
  // step weights.
  std::unique_ptr<BackboneRecurrence> recurrence(int64_t batch) const override;
  const ParameterList& parameters() const override { return parameters_; }
  const Parameter& input_embedding() const override { return embedding_.weight; }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t d_model() const override { return config_.d_model; }
  void set_compute_dtype(DType dtype) override;
  DType compute_dtype() const override { return compute_dtype_; }
  // Keeps per layer only the fp32 residual stream entering it; each block (norm, mixer, residual add)
  // runs again in the backward.
  void set_recompute_layers(bool enabled) override { recompute_layers_ = enabled; }
  const MambaConfig& config() const { return config_; }

 private:
  MambaConfig config_;
  Embedding embedding_;
  std::vector<MambaBlock> blocks_;
  RMSNorm norm_f_;
  ParameterList parameters_;
  DType compute_dtype_;
  bool recompute_layers_ = false;

  // The training forward with recompute_layers_: each block's Mamba layer one ops::recompute unit.
  BackboneOutput run_recomputed(const Tensor& ids) const;
  // forward, with per-layer states or (null) from zero, differentiable; through the step with
  // step_weights (ids (B, 1)).
  BackboneOutput run(const Tensor& ids, std::vector<MambaLayerState>* states,
                     const std::vector<MambaMixer::StepWeights>* step_weights = nullptr) const;
  // A block's MoE layer on the normalized stream: returns its output, adds its aux loss and its routing
  // to out.
  Tensor moe_layer(const MambaBlock& block, const Tensor& normed, BackboneOutput& out) const;
  // out.aux_loss, the layers' sum, as the head adds it: their mean times moe.aux_weight.
  void weigh_aux(BackboneOutput& out) const;
};

}  // namespace krait
