// layers/expert_exchange.cpp — exchange() (see expert_exchange.h).
#include "layers/expert_exchange.h"

#include "autograd/tape.h"
#include "common/error.h"

namespace krait {

Tensor exchange(const Tensor& x, const ExpertExchange& ex) {
  KRAIT_CHECK(x.defined() && x.numel() % ex.ranks() == 0, "exchange: ", x.describe(), " does not split into ",
              ex.ranks(), " equal chunks");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  ex.all_to_all(x, y);
  if (needs_record({x})) {
    // Chunk q of y came from rank q's chunk for this rank: the gradient goes back the same way.
    record("exchange", {x}, y, [ex = &ex](const Tensor& g) -> TensorList {
      Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
      ex->all_to_all(g, gx);
      return {gx};
    });
  }
  return y;
}

}  // namespace krait
