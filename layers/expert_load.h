// layers/expert_load.h — ExpertLoad: how one mixture-of-experts layer's routing went in a forward, for
// load-balance and drop statistics (layers/switch_moe.h makes them, evaluation sums them).
#pragma once

#include <cstdint>

#include "autograd/tensor.h"

namespace krait {

struct ExpertLoad {
  Tensor load;          // (experts) i32 on the layer's device: rows each expert took
  int64_t choices = 0;  // tokens x top_k routed; those the experts did not take were dropped
};

}  // namespace krait
