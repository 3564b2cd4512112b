// layers/mamba_lm.h — MambaLM, the Mamba language model: embedding, n_layer prenorm residual
// blocks (residual += mixer(RMSNorm(residual))), a final RMSNorm and an LM head over the vocabulary
// padded to a multiple of pad_vocab_size_multiple (tied to the embedding by default).
#pragma once

#include <vector>

#include "autograd/ops.h"
#include "layers/embedding.h"
#include "layers/mamba_mixer.h"
#include "layers/rms_norm.h"

namespace krait {

struct MambaBlock {
  RMSNorm norm;
  MambaMixer mixer;
};

class MambaLM {
 public:
  // Parameters in f32 for training (on the cpu or a CUDA device), f64 for gradient checks. The same
  // seed gives the same weights on every device.
  MambaLM(const MambaConfig& config, uint64_t seed, TensorOptions options = {});

  Tensor forward(const Tensor& ids) const;  // ids (B, L) i32/i64 -> logits (B, L, padded vocab)
  // Next-token cross-entropy of forward(ids) against targets (B, L), averaged over (or summed over)
  // the targets that are not ignore_index.
  Tensor loss(const Tensor& ids, const Tensor& targets, int64_t ignore_index = -100,
              ops::Reduction reduction = ops::Reduction::Mean) const;

  // The dtype of the blocks' matmuls, convolutions and scans: bf16 (CUDA only) for mixed precision,
  // with fp32 master weights, an fp32 residual stream and fp32 norms; by default the parameters' own.
  void set_compute_dtype(DType dtype);
  DType compute_dtype() const { return compute_dtype_; }

  const ParameterList& parameters() const { return parameters_; }
  int64_t num_parameters() const;
  const MambaConfig& config() const { return config_; }

 private:
  MambaLM(const MambaConfig& config, const TensorOptions& options, Rng rng);

  MambaConfig config_;
  Embedding embedding_;
  std::vector<MambaBlock> blocks_;
  RMSNorm norm_f_;
  Parameter lm_head_;  // value undefined when tied to the embedding
  ParameterList parameters_;
  DType compute_dtype_;
};

}  // namespace krait
