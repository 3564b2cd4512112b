// layers/mamba_state.h — MambaLayerState, what one Mamba mixer carries from one token to the next when
// run recurrently for generation: the conv's last d_conv - 1 inputs and the scan's state.
#pragma once

#include <cstdint>

#include "autograd/tensor.h"
#include "layers/mamba_config.h"

namespace krait {

struct MambaLayerState {
  Tensor conv;  // (batch, d_inner, d_conv - 1): the conv's inputs at the last d_conv - 1 times; undefined without conv
  Tensor ssm;   // (batch, d_inner, d_state): the scan's state after the last time, in ops::scan_state_dtype
  bool at_start = true;  // no token yet: both are zeros

  // The state before the first token for activations of `dtype`: zeros (the conv and the scan start
  // from zero).
  static MambaLayerState zeros(const MambaConfig& config, int64_t batch, DType dtype, Device device);
};

}  // namespace krait
