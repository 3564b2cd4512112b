// data/audio_quantize.cpp — mu-law and linear quantization (see audio_quantize.h).
#include "data/audio_quantize.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace krait::data {

namespace {

uint16_t mu_law_class(float x, double mu) {
  const double a = std::clamp(static_cast<double>(x), -1.0, 1.0);
  const double y = std::copysign(std::log1p(mu * std::abs(a)) / std::log1p(mu), a);
  return static_cast<uint16_t>(std::floor((y + 1) / 2 * mu + 0.5));
}

float mu_law_value(uint16_t id, double mu) {
  const double y = 2 * id / mu - 1;
  return static_cast<float>(std::copysign(std::expm1(std::abs(y) * std::log1p(mu)) / mu, y));
}

uint16_t linear_class(float x, double half) {
  const double c = std::round(std::clamp(static_cast<double>(x), -1.0, 1.0) * half);
  return static_cast<uint16_t>(std::min(c, half - 1) + half);
}

float linear_value(uint16_t id, double half) { return static_cast<float>((id - half) / half); }

}  // namespace

uint32_t num_classes(const QuantizeOptions& options) {
  KRAIT_CHECK(options.bits >= 1 && options.bits <= 16, "audio quantization: bits ", options.bits, " is not in [1, 16]");
  return uint32_t{1} << options.bits;
}

int mu_law_encode(float x) { return mu_law_class(x, 255.0); }

float mu_law_decode(int id) {
  KRAIT_CHECK(id >= 0 && id <= 255, "mu_law_decode: id ", id, " is not in [0, 255]");
  return mu_law_value(static_cast<uint16_t>(id), 255.0);
}

void quantize(std::span<const float> samples, const QuantizeOptions& options, uint16_t* out) {
  const double classes = num_classes(options);
  if (options.kind == Quantization::MuLaw) {
    std::transform(samples.begin(), samples.end(), out, [&](float x) { return mu_law_class(x, classes - 1); });
  } else {
    std::transform(samples.begin(), samples.end(), out, [&](float x) { return linear_class(x, classes / 2); });
  }
}

void dequantize(std::span<const uint16_t> ids, const QuantizeOptions& options, float* out) {
  const uint32_t classes = num_classes(options);
  const auto bad = std::find_if(ids.begin(), ids.end(), [&](uint16_t id) { return id >= classes; });
  KRAIT_CHECK(bad == ids.end(), "audio dequantize: id ", bad == ids.end() ? 0 : *bad, " at position ",
              bad - ids.begin(), " is not below the ", classes, " classes");
  if (options.kind == Quantization::MuLaw) {
    std::transform(ids.begin(), ids.end(), out, [&](uint16_t id) { return mu_law_value(id, classes - 1.0); });
  } else {
    std::transform(ids.begin(), ids.end(), out, [&](uint16_t id) { return linear_value(id, classes / 2.0); });
  }
}

}  // namespace krait::data
