// layers/switch_moe.h — SwitchMoE: a Switch Transformer mixture-of-experts feed-forward layer, as
// MoE-Mamba interleaves with Mamba layers. A router (d_model -> experts, softmax in f32) sends each
// token to its top-k experts, each a two-layer MLP (d_model -> hidden, SiLU, -> d_model), up to a
// capacity per expert; the output is the experts' outputs weighted by their router probabilities, zero
// for a token every chosen expert turned away (the residual stream carries it past the layer).
#pragma once

#include <memory>

#include "layers/expert_exchange.h"
#include "layers/expert_load.h"
#include "layers/init.h"
#include "layers/moe_config.h"

namespace krait {

struct SwitchMoEOutput {
  Tensor y;         // x's shape and dtype
  Tensor aux_loss;  // [] Switch's load-balancing loss, experts x sum_e f_e P_e (1 when balanced)
  ExpertLoad load;
};

// Expert parallelism (an exchange over ranks > 1): this rank keeps experts [rank E/R, (rank + 1) E/R)
// (w1 and w2 hold only their rows, tagged rank_shard; every expert is drawn, so the weights are the
// unsharded layer's), routes its own tokens as the unsharded layer does, sends each expert's rows to
// the rank holding it, runs its experts on the rows every rank sent, and sends the outputs back.
class SwitchMoE {
 public:
  // out_scale multiplies the second layer's initial bound (a prenorm residual's rescale).
  SwitchMoE(const std::string& name, int64_t d_model, const MoeConfig& config, double out_scale,
            const TensorOptions& options, Rng& rng, std::shared_ptr<const ExpertExchange> exchange = nullptr);

  SwitchMoEOutput forward(const Tensor& x) const;  // x (..., d_model) in the compute dtype
  void append_parameters(ParameterList& out) const;

  Parameter router;  // (experts, d_model)
  Parameter w1;      // (experts, d_model, hidden); this rank's experts only when sharded
  Parameter w2;      // (experts, hidden, d_model); likewise

 private:
  // The experts on rows (local experts, rows, d_model) -> the same shape.
  Tensor run_experts(const Tensor& rows) const;
  // Expert parallelism: the dispatched (experts, capacity, d_model) through the exchange, the local
  // experts and back.
  Tensor run_sharded(const Tensor& dispatched) const;

  MoeConfig config_;
  std::shared_ptr<const ExpertExchange> exchange_;  // set only when sharded over ranks > 1
};

}  // namespace krait
