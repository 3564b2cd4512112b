// layers/mamba_state.cpp — MambaLayerState (see mamba_state.h).
#include "layers/mamba_state.h"

#include "autograd/ops.h"

namespace krait {

MambaLayerState MambaLayerState::zeros(const MambaConfig& c, int64_t batch, DType dtype, Device device) {
  MambaLayerState s;
  if (c.conv) s.conv = Tensor::zeros({batch, c.d_inner(), c.d_conv - 1}, dtype, device);
  s.ssm = Tensor::zeros({batch, c.d_inner(), c.d_state}, ops::scan_state_dtype(dtype), device);
  return s;
}

}  // namespace krait
