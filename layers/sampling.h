// layers/sampling.h — drawing the next token from a generator's logits: temperature (0 = greedy),
// top-k and top-p (nucleus) sampling with a seeded Rng, each row of a batch drawn independently.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "common/rng.h"

namespace krait {

struct SamplingOptions {
  double temperature = 1.0;  // logits are divided by it; 0 picks the most likely token (greedy)
  int64_t top_k = 0;         // keep the k most likely tokens; 0 = all
  double top_p = 1.0;        // then keep the smallest most-likely-first prefix whose mass is >= top_p

  // Throws naming the option out of range: temperature >= 0 and finite, top_k >= 0, 0 < top_p <= 1.
  void validate() const;
};

// The tokens a row's logits (one per token of the vocabulary) can be drawn as, with their
// probabilities (summing to 1), most likely first (ties: the lower id first): after the temperature,
// top-k, then top-p. Greedy (temperature 0): the first most likely token alone.
std::vector<std::pair<int32_t, double>> sampling_distribution(std::span<const double> logits,
                                                              const SamplingOptions& options);

// One token per row of logits (B, W) (any float dtype and device), drawn from the row's first `vocab`
// columns (a padded vocabulary's other columns are never drawn), row after row from rng, so a seed
// gives the same tokens.
std::vector<int32_t> sample_tokens(const Tensor& logits, int64_t vocab, const SamplingOptions& options, Rng& rng);

}  // namespace krait
