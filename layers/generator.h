// layers/generator.h — Generator, a model run recurrently to generate: it holds the state of a batch
// of sequences, takes their prompts in one parallel forward (prefill), then one token per sequence at
// a time (step), and returns the next-token logits after each. Model::generator makes one.
#pragma once

#include "autograd/tensor.h"

namespace krait {

class Generator {
 public:
  virtual ~Generator() = default;

  // ids (B, L), L >= 1, the prompts -> logits (B, padded vocab) at their last position.
  virtual Tensor prefill(const Tensor& ids) = 0;
  // ids (B), each sequence's next token -> logits (B, padded vocab) after it. The logits may be
  // rewritten by the next call (a CUDA generator replays a graph into one buffer): read or copy them
  // first.
  virtual Tensor step(const Tensor& ids) = 0;
};

}  // namespace krait
