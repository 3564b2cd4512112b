// layers/switch_moe.cpp — SwitchMoE (see switch_moe.h).
#include "layers/switch_moe.h"

#include "autograd/ops.h"
#include "autograd/tape.h"
#include "common/error.h"

namespace krait {

namespace {
// Rows [rank n / ranks, (rank + 1) n / ranks) of a parameter drawn whole, as a leaf of its own.
Parameter rank_rows(const Parameter& whole, const ExpertExchange& ex) {
  NoGradGuard no_grad;
  const int64_t n = whole.value.size(0) / ex.ranks();
  Parameter shard = whole;
  shard.value = ops::slice(whole.value, 0, ex.rank() * n, (ex.rank() + 1) * n).detach();
  shard.value.set_requires_grad(true);
  shard.tags.rank_shard = true;
  return shard;
}
}  // namespace

SwitchMoE::SwitchMoE(const std::string& name, int64_t d_model, const MoeConfig& config, double out_scale,
                     const TensorOptions& options, Rng& rng, std::shared_ptr<const ExpertExchange> exchange)
    : router(init::uniform(name + ".router.weight", {config.experts, d_model}, options, rng,
                           init::default_bound(d_model))),
      w1(init::uniform(name + ".experts.w1", {config.experts, d_model, config.resolved_hidden(d_model)}, options, rng,
                       init::default_bound(d_model))),
      w2(init::uniform(name + ".experts.w2", {config.experts, config.resolved_hidden(d_model), d_model}, options, rng,
                       out_scale * init::default_bound(config.resolved_hidden(d_model)))),
      config_(config) {
  config.validate();
  KRAIT_CHECK(config.enabled(), "SwitchMoE ", name, ": needs at least one expert");
  if (!exchange || exchange->ranks() == 1) return;
  KRAIT_CHECK(config.experts % exchange->ranks() == 0, "model.moe_experts (", config.experts,
              ") must be a multiple of the ", exchange->ranks(), " data-parallel ranks for expert parallelism");
  w1 = rank_rows(w1, *exchange);
  w2 = rank_rows(w2, *exchange);
  exchange_ = std::move(exchange);
}

Tensor SwitchMoE::run_experts(const Tensor& rows) const {
  const DType dtype = rows.dtype();
  return ops::matmul(ops::silu(ops::matmul(rows, ops::cast(w1.value, dtype))), ops::cast(w2.value, dtype));
}

// The exchange sends chunk r, experts [r E/R, (r + 1) E/R), to rank r, and this rank receives its
// experts' rows from every rank as (ranks, local experts, capacity, d); the experts run on
// (local experts, ranks x capacity, d), and the outputs go back in the same layout.
Tensor SwitchMoE::run_sharded(const Tensor& dispatched) const {
  const int64_t ranks = exchange_->ranks(), local = config_.experts / ranks;
  const int64_t capacity = dispatched.size(1), d = dispatched.size(2);
  const Tensor received = ops::reshape(exchange(dispatched, *exchange_), {ranks, local, capacity, d});
  const Tensor rows = ops::reshape(ops::transpose(received, 0, 1), {local, ranks * capacity, d});
  const Tensor out = ops::reshape(run_experts(rows), {local, ranks, capacity, d});
  return exchange(ops::reshape(ops::transpose(out, 0, 1), dispatched.shape()), *exchange_);
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

  const Tensor dispatched = ops::moe_dispatch(flat, routing);
  const Tensor experts_out = exchange_ ? run_sharded(dispatched) : run_experts(dispatched);
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
