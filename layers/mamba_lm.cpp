// layers/mamba_lm.cpp — MambaLM (see mamba_lm.h).
#include "layers/mamba_lm.h"

namespace krait {

MambaLM::MambaLM(const MambaConfig& config, uint64_t seed, TensorOptions options)
    : MambaLM(config, options, Rng(seed)) {}

// Parameters are drawn from `rng` in the reference's order: embedding, then each layer, then the head.
MambaLM::MambaLM(const MambaConfig& config, const TensorOptions& options, Rng rng)
    : LanguageModel(std::make_unique<MambaBackbone>(config, options, rng), config.tie_embeddings, options, rng),
      config_(config) {}

}  // namespace krait
