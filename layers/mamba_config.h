// layers/mamba_config.h — MambaConfig: the shape and initialization of a Mamba language model,
// defaults as in the reference implementation (state-spaces/mamba).
#pragma once

#include <cstdint>

namespace krait {

struct MambaConfig {
  int64_t d_model = 256;
  int64_t n_layer = 4;
  int64_t vocab_size = 257;
  int64_t d_state = 16;
  int64_t d_conv = 4;
  int64_t expand = 2;
  int64_t dt_rank = 0;  // 0 = "auto": ceil(d_model / 16)
  double dt_min = 0.001;
  double dt_max = 0.1;
  double dt_init_floor = 1e-4;
  double dt_scale = 1.0;
  bool conv_bias = true;
  bool bias = false;  // biases of in_proj and out_proj
  int64_t pad_vocab_size_multiple = 8;
  bool tie_embeddings = true;
  double norm_eps = 1e-5;
  // The residual stream is always kept in fp32 (the reference's default and the only mode Krait
  // implements); false is rejected by validate() rather than silently ignored.
  bool residual_in_fp32 = true;
  // false: delta, B and C do not depend on the input (the S4D-style time-invariant ablation).
  bool selective = true;

  bool operator==(const MambaConfig&) const = default;

  int64_t d_inner() const { return expand * d_model; }
  int64_t resolved_dt_rank() const { return dt_rank > 0 ? dt_rank : (d_model + 15) / 16; }
  int64_t padded_vocab_size() const {
    const int64_t m = pad_vocab_size_multiple > 0 ? pad_vocab_size_multiple : 1;
    return (vocab_size + m - 1) / m * m;
  }
  // Throws krait::Error naming the first field out of range.
  void validate() const;
};

}  // namespace krait
