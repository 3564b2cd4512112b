// layers/embedding.h — Embedding: a (vocab, dim) table looked up by token id, initialized N(0, 0.02)
// as the reference does; also the weight of the tied LM head.
#pragma once

#include "layers/init.h"

namespace krait {

class Embedding {
 public:
  Embedding(const std::string& name, int64_t vocab, int64_t dim, const TensorOptions& options, Rng& rng);
  Tensor forward(const Tensor& ids) const;  // ids (...) -> (..., dim)
  void append_parameters(ParameterList& out) const { out.push_back(weight); }

  Parameter weight;
};

}  // namespace krait
