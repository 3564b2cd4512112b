// layers/switch_moe.h — SwitchMoE: a Switch Transformer mixture-of-experts feed-forward layer, as
// MoE-Mamba interleaves with Mamba layers. A router (d_model -> experts, softmax in f32) sends each
// token to its top-k experts, each a two-layer MLP (d_model -> hidden, SiLU, -> d_model), up to a
// capacity per expert; the output is the experts' outputs weighted by their router probabilities, zero
// for a token every chosen expert turned away (the residual stream carries it past the layer).
#pragma once

#include "layers/expert_load.h"
#include "layers/init.h"
#include "layers/moe_config.h"

namespace krait {

struct SwitchMoEOutput {
  Tensor y;         // x's shape and dtype
  Tensor aux_loss;  // [] Switch's load-balancing loss, experts x sum_e f_e P_e (1 when balanced)
  ExpertLoad load;
};

class SwitchMoE {
 public:
  // out_scale multiplies the second layer's initial bound (a prenorm residual's rescale).
  SwitchMoE(const std::string& name, int64_t d_model, const MoeConfig& config, double out_scale,
            const TensorOptions& options, Rng& rng);

  SwitchMoEOutput forward(const Tensor& x) const;  // x (..., d_model) in the compute dtype
  void append_parameters(ParameterList& out) const;

  Parameter router;  // (experts, d_model)
  Parameter w1;      // (experts, d_model, hidden)
  Parameter w2;      // (experts, hidden, d_model)

 private:
  MoeConfig config_;
};

}  // namespace krait
