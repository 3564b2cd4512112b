// autograd/parameter.h — Parameter: a named, trainable leaf tensor with tags set by the layer that
// owns it. Optimizers read the tags (e.g. no weight decay) instead of keeping lists of indices.
#pragma once

#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace krait {

struct ParamTags {
  bool no_weight_decay = false;  // biases, norm weights, embeddings, A_log, D
  bool fp32_only = false;        // kept and used in fp32 even under bf16 mixed precision (A_log, D)
  // This rank's rows (a slice along axis 0) of a tensor sharded over the data-parallel ranks (MoE
  // experts): its gradient is whole without an all-reduce, and checkpoints gather the slices.
  bool rank_shard = false;
};

struct Parameter {
  std::string name;  // dotted path, e.g. "layers.3.mixer.in_proj.weight"; unique within a model
  Tensor value;      // a leaf that requires grad
  ParamTags tags;
};

using ParameterList = std::vector<Parameter>;

}  // namespace krait
