// layers/embedding.cpp — Embedding (see embedding.h).
#include "layers/embedding.h"

#include "autograd/ops.h"

namespace krait {

Embedding::Embedding(const std::string& name, int64_t vocab, int64_t dim, const TensorOptions& options, Rng& rng)
    : weight(init::normal(name + ".weight", {vocab, dim}, options, rng, 0.02, {.no_weight_decay = true})) {}

Tensor Embedding::forward(const Tensor& ids) const { return ops::embedding(weight.value, ids); }

}  // namespace krait
