// layers/expert_exchange.h — ExpertExchange: what an expert-parallel MoE layer needs of the
// data-parallel ranks, their number and an all-to-all of equal chunks (train/ adapts its
// dist::Communicator: layers do not depend on dist/), and exchange(), that all-to-all as an op of the
// tape.
#pragma once

#include "autograd/tensor.h"

namespace krait {

class ExpertExchange {
 public:
  virtual ~ExpertExchange() = default;
  virtual int rank() const = 0;
  virtual int ranks() const = 0;
  // send and recv: ranks() equal chunks; chunk r of send goes to rank r, chunk q of recv comes from
  // rank q. Complete on return: later work on the device's stream sees recv.
  virtual void all_to_all(const Tensor& send, const Tensor& recv) const = 0;
};

// x (its numel a multiple of ranks()) split into ranks() chunks, chunk r sent to rank r; returns what
// each rank sent here, in x's shape. The gradient travels back by the same exchange. Every rank must
// run the same exchanges in the same order, forward and backward.
Tensor exchange(const Tensor& x, const ExpertExchange& ex);

}  // namespace krait
