// layers/moe_config.cpp — MoeConfig (see moe_config.h).
#include "layers/moe_config.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace krait {

int64_t MoeConfig::capacity(int64_t tokens) const {
  const double rows = std::ceil(capacity_factor * double(top_k) * double(tokens) / double(experts));
  return std::max<int64_t>(1, int64_t(rows));
}

void MoeConfig::validate() const {
  KRAIT_CHECK(experts >= 0, "model config: moe_experts must be >= 0 (got ", experts, ")");
  if (!enabled()) return;
  KRAIT_CHECK(top_k >= 1 && top_k <= experts, "model config: moe_top_k must be in 1..moe_experts (", experts,
              "), got ", top_k);
  KRAIT_CHECK(capacity_factor > 0, "model config: moe_capacity_factor must be > 0 (got ", capacity_factor, ")");
  KRAIT_CHECK(aux_weight >= 0, "model config: moe_aux_weight must be >= 0 (got ", aux_weight, ")");
  KRAIT_CHECK(hidden >= 0, "model config: moe_hidden must be > 0 or auto (got ", hidden, ")");
}

}  // namespace krait
