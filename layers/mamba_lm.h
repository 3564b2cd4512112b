// layers/mamba_lm.h — MambaLM, the Mamba language model: a MambaBackbone under the language-model head
// over the vocabulary padded to a multiple of pad_vocab_size_multiple (tied to the embedding by
// default), as the reference's MambaLMHeadModel.
#pragma once

#include "layers/language_model.h"
#include "layers/mamba_backbone.h"

namespace krait {

class MambaLM : public LanguageModel {
 public:
  // Parameters in f32 for training (on the cpu or a CUDA device), f64 for gradient checks. The same
  // seed gives the same weights on every device.
  MambaLM(const MambaConfig& config, uint64_t seed, TensorOptions options = {});

  const MambaConfig& config() const { return config_; }

 private:
  MambaLM(const MambaConfig& config, const TensorOptions& options, Rng rng);

  MambaConfig config_;
};

}  // namespace krait
