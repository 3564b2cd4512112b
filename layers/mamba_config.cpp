// layers/mamba_config.cpp — MambaConfig::validate, Selectivity's names, a_init_name.
#include "layers/mamba_config.h"

#include <algorithm>

#include "common/error.h"

namespace krait {

Selectivity Selectivity::from_names(const std::vector<std::string>& names) {
  bool flags[3] = {false, false, false};
  for (const std::string& name : names) {
    const auto it = std::find(kNames.begin(), kNames.end(), name);
    KRAIT_CHECK(it != kNames.end(), "model config: selective takes delta, B and C, not '", name, "'");
    flags[it - kNames.begin()] = true;
  }
  return {flags[0], flags[1], flags[2]};
}

std::vector<std::string> Selectivity::names() const {
  const bool flags[3] = {delta, B, C};
  std::vector<std::string> out;
  for (size_t i = 0; i < kNames.size(); ++i)
    if (flags[i]) out.push_back(kNames[i]);
  return out;
}

const char* a_init_name(AInit init) {
  switch (init) {
    case AInit::S4DReal: return "s4d_real";
    case AInit::S4DLinReal: return "s4d_lin_real";
    case AInit::Random: return "random";
  }
  return "?";
}

void MambaConfig::validate() const {
  auto positive = [](const char* field, auto value) {
    KRAIT_CHECK(value > 0, "model config: ", field, " must be > 0 (got ", value, ")");
  };
  positive("d_model", d_model);
  positive("n_layer", n_layer);
  positive("vocab_size", vocab_size);
  positive("d_state", d_state);
  positive("d_conv", d_conv);
  positive("expand", expand);
  positive("dt_min", dt_min);
  positive("dt_max", dt_max);
  positive("dt_init_floor", dt_init_floor);
  positive("dt_scale", dt_scale);
  positive("norm_eps", norm_eps);
  positive("pad_vocab_size_multiple", pad_vocab_size_multiple);
  KRAIT_CHECK(dt_rank >= 0, "model config: dt_rank must be > 0 or auto (got ", dt_rank, ")");
  KRAIT_CHECK(residual_in_fp32, "model config: residual_in_fp32: false is not supported; Krait keeps the residual "
              "stream in fp32 under mixed precision (set it to true or leave it out)");
  KRAIT_CHECK(dt_min <= dt_max, "model config: dt_min (", dt_min, ") must not exceed dt_max (", dt_max, ")");
  moe.validate();
}

}  // namespace krait
