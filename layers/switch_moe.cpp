// layers/switch_moe.cpp — SwitchMoE (see switch_moe.h).
#include "layers/switch_moe.h"

#include "autograd/ops.h"
#include "common/error.h"

namespace krait {

SwitchMoE::SwitchMoE(const std::string& name, int64_t d_model, const MoeConfig& config, double out_scale,
                     const TensorOptions& options, Rng& rng)
    : router(init::uniform(name + ".router.weight", {config.experts, d_model}, options, rng,
                           init::default_bound(d_model))),
      w1(init::uniform(name + ".experts.w1", {config.experts, d_model, config.resolved_hidden(d_model)}, options, rng,
                       init::default_bound(d_model))),
      w2(init::uniform(name + ".experts.w2", {config.experts, config.resolved_hidden(d_model), d_model}, options, rng,
                       out_scale * init::default_bound(config.resolved_hidden(d_model)))),
      config_(config) {
  config.validate();
  KRAIT_CHECK(config.enabled(), "SwitchMoE ", name, ": needs at least one expert");
}

// The router runs in f32 whatever the compute dtype (its softmax decides the routing); the gates are
// then cast to the experts' dtype for the combine.
SwitchMoEOutput SwitchMoE::forward(const Tensor& x) const {
  const int64_t d = x.size(-1), tokens = x.numel() / d;
  const DType dtype = x.dtype();
  const DType router_dtype = dtype == DType::BF16 ? DType::F32 : dtype;
  const Tensor flat = ops::reshape(x, {tokens, d});
  const Tensor logits = ops::matmul(flat, ops::cast(router.value, dtype), false, true);
  const Tensor probs = ops::softmax(ops::cast(logits, router_dtype));
  const ops::ExpertRouting routing = ops::route_experts(probs, config_.top_k, config_.capacity(tokens));
  const Tensor gates = ops::cast(ops::routing_gates(probs, routing), dtype);

  const Tensor hidden = ops::silu(ops::matmul(ops::moe_dispatch(flat, routing), ops::cast(w1.value, dtype)));
  const Tensor experts_out = ops::matmul(hidden, ops::cast(w2.value, dtype));
  SwitchMoEOutput out;
  out.y = ops::reshape(ops::moe_combine(experts_out, gates, routing), x.shape());
  // f_e (the share of first choices, not differentiable) times P_e (the mean probability), summed.
  out.aux_loss = ops::scale(ops::sum(ops::mul(ops::mean(probs, 0), routing.fraction)), double(config_.experts));
  out.load = {routing.load, tokens * config_.top_k};
  return out;
}

void SwitchMoE::append_parameters(ParameterList& out) const {
  out.push_back(router);
  out.push_back(w1);
  out.push_back(w2);
}

}  // namespace krait
