// layers/sampling.cpp — SamplingOptions, sampling_distribution and sample_tokens (see sampling.h).
#include "layers/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"

namespace krait {

void SamplingOptions::validate() const {
  KRAIT_CHECK(std::isfinite(temperature) && temperature >= 0, "sampling: temperature must be finite and >= 0 "
              "(0 = greedy), got ", temperature);
  KRAIT_CHECK(top_k >= 0, "sampling: top-k must be >= 0 (0 = no limit), got ", top_k);
  KRAIT_CHECK(top_p > 0 && top_p <= 1, "sampling: top-p must be in (0, 1], got ", top_p);
}

std::vector<std::pair<int32_t, double>> sampling_distribution(std::span<const double> logits,
                                                              const SamplingOptions& o) {
  o.validate();
  KRAIT_CHECK(!logits.empty(), "sampling: no logits");
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  if (o.temperature == 0) return {{order[0], 1.0}};
  if (o.top_k > 0 && static_cast<size_t>(o.top_k) < order.size()) order.resize(o.top_k);

  // Softmax of logits / temperature over the kept tokens, from the largest.
  std::vector<std::pair<int32_t, double>> out;
  double total = 0;
  for (const int32_t id : order) {
    const double p = std::exp((logits[id] - logits[order[0]]) / o.temperature);
    out.emplace_back(id, p);
    total += p;
  }
  double mass = 0;
  size_t kept = 0;
  while (kept < out.size() && (kept == 0 || mass < o.top_p)) mass += out[kept++].second /= total;
  out.resize(kept);
  for (auto& [id, p] : out) p /= mass;
  return out;
}

std::vector<int32_t> sample_tokens(const Tensor& logits, int64_t vocab, const SamplingOptions& o, Rng& rng) {
  KRAIT_CHECK(logits.dim() == 2 && vocab >= 1 && vocab <= logits.size(1), "sampling: expected logits (batch, >= ",
              vocab, "), got ", logits.describe());
  const Tensor host = logits.to(Device::cpu()).to(DType::F64);
  const double* data = host.data<double>();
  std::vector<int32_t> tokens;
  for (int64_t row = 0; row < logits.size(0); ++row) {
    const auto candidates = sampling_distribution({data + row * logits.size(1), static_cast<size_t>(vocab)}, o);
    // The first candidate whose cumulative probability exceeds a uniform draw (the last one on rounding).
    double u = rng.uniform();
    auto pick = candidates.begin();
    while (pick + 1 != candidates.end() && u >= pick->second) u -= (pick++)->second;
    tokens.push_back(pick->first);
  }
  return tokens;
}

}  // namespace krait
