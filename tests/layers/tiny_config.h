// tests/layers/tiny_config.h — the tiny Mamba shape the layer tests share: small enough for float64
// gradient checks of a whole model, with a vocabulary that padding changes (11 -> 16).
#pragma once

#include "layers/mamba_config.h"

namespace krait::testing {

inline MambaConfig tiny_config() {
  MambaConfig c;
  c.d_model = 4;
  c.n_layer = 2;
  c.vocab_size = 11;  // padded to 16
  c.d_state = 3;
  c.d_conv = 3;
  c.expand = 2;
  return c;
}

}  // namespace krait::testing
