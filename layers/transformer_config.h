// layers/transformer_config.h — TransformerConfig: the shape and initialization of the Transformer++
// baseline of the Mamba paper (Gu & Dao 2023, section 4.2: a GPT-3-shaped Transformer with rotary
// embeddings, a SwiGLU MLP, RMSNorm and no linear biases), and the GPT-3 sizes of its Table 12 by name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace krait {

struct TransformerConfig {
  int64_t d_model = 256;
  int64_t n_layer = 4;
  int64_t n_head = 4;  // head width d_model / n_head, even (rotary rotates pairs)
  // SwiGLU hidden width; 0 = auto: floor(8 d_model / 3) rounded up to a multiple of 128, the default
  // of mamba_ssm's (and flash-attn's) GatedMLP. 8/3 keeps the MLP at the 8 d_model^2 parameters of a
  // 4x GELU MLP; 768 -> 2048, 1024 -> 2816, 1536 -> 4096, 2048 -> 5504.
  int64_t d_ff = 0;
  int64_t vocab_size = 257;
  int64_t pad_vocab_size_multiple = 8;
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;
  bool tie_embeddings = true;
  // GPT-2's initialization: every weight matrix and the embedding N(0, init_std), the two output
  // projections of each layer (attention's and the MLP's) further scaled by 1/sqrt(2 n_layer).
  // Not a recipe key.
  double init_std = 0.02;

  bool operator==(const TransformerConfig&) const = default;

  int64_t head_dim() const { return d_model / n_head; }
  int64_t resolved_d_ff() const;
  int64_t padded_vocab_size() const {
    const int64_t m = pad_vocab_size_multiple > 0 ? pad_vocab_size_multiple : 1;
    return (vocab_size + m - 1) / m * m;
  }
  // Throws krait::Error naming the first field out of range.
  void validate() const;
};

// A named GPT-3 shape (Brown et al. 2020, as the Mamba paper's Table 12 lists it for its scaling laws).
struct TransformerSize {
  std::string name;
  int64_t n_layer, d_model, n_head;
};

// 125M: 12 x 768, 12 heads of 64; 350M: 24 x 1024, 16 of 64; 760M: 24 x 1536, 16 of 96;
// 1.3B: 24 x 2048, 32 of 64.
const std::vector<TransformerSize>& transformer_sizes();
// The size called name; throws krait::Error listing the known names when there is none.
const TransformerSize& transformer_size(const std::string& name);

}  // namespace krait
