// data/resample.cpp — polyphase windowed-sinc resampling (see resample.h). With the rates reduced by
// their gcd to from/to, output i sits at input position i * from / to, whose fractional part is one
// of `to` phases; each phase's taps are computed once.
#include "data/resample.h"

#include <cmath>
#include <cstdint>
#include <numbers>
#include <numeric>

#include "common/error.h"

namespace krait::data {

namespace {

constexpr int kZeroCrossings = 32;
constexpr double kKaiserBeta = 8.6;  // about 80 dB of stop-band attenuation

// The filter: taps for every phase, tap k of phase p weighting input base - half + 1 + k.
struct Polyphase {
  int64_t half = 0;             // taps on each side of the output position
  int64_t taps = 0;             // 2 * half
  std::vector<double> weights;  // phases x taps
};

double windowed_sinc(double distance, double cutoff, double width) {
  const double r = distance / width;
  if (std::abs(r) >= 1) return 0;
  const double x = std::numbers::pi * cutoff * distance;
  const double sinc = x == 0 ? 1 : std::sin(x) / x;
  const double kaiser =
      std::cyl_bessel_i(0.0, kKaiserBeta * std::sqrt(1 - r * r)) / std::cyl_bessel_i(0.0, kKaiserBeta);
  return cutoff * sinc * kaiser;
}

// cutoff is the passband edge as a fraction of the input Nyquist frequency.
Polyphase design(int64_t phases, double cutoff) {
  const double width = kZeroCrossings / cutoff;  // the window's half-width in input samples
  Polyphase f;
  f.half = static_cast<int64_t>(std::ceil(width));
  f.taps = 2 * f.half;
  f.weights.resize(static_cast<size_t>(phases * f.taps));
  for (int64_t p = 0; p < phases; ++p) {
    const double frac = static_cast<double>(p) / static_cast<double>(phases);
    double* w = f.weights.data() + p * f.taps;
    double sum = 0;
    for (int64_t k = 0; k < f.taps; ++k) {
      w[k] = windowed_sinc(static_cast<double>(k - f.half + 1) - frac, cutoff, width);
      sum += w[k];
    }
    for (int64_t k = 0; k < f.taps; ++k) w[k] /= sum;
  }
  return f;
}

}  // namespace

std::vector<float> resample(std::span<const float> input, int from_rate, int to_rate) {
  KRAIT_CHECK(from_rate > 0 && to_rate > 0, "resample: rates must be positive, got ", from_rate, " -> ", to_rate);
  if (from_rate == to_rate) return {input.begin(), input.end()};
  const int64_t g = std::gcd(from_rate, to_rate), from = from_rate / g, to = to_rate / g;
  const auto n = static_cast<int64_t>(input.size());
  const Polyphase f = design(to, std::min(1.0, static_cast<double>(to) / static_cast<double>(from)));
  std::vector<float> out(static_cast<size_t>((n * to + from / 2) / from));
  for (int64_t i = 0; i < static_cast<int64_t>(out.size()); ++i) {
    const int64_t base = i * from / to, phase = i * from % to;
    const double* w = f.weights.data() + phase * f.taps;
    double acc = 0;
    for (int64_t k = std::max<int64_t>(0, f.half - 1 - base); k < f.taps && base - f.half + 1 + k < n; ++k) {
      acc += w[k] * input[static_cast<size_t>(base - f.half + 1 + k)];
    }
    out[static_cast<size_t>(i)] = static_cast<float>(acc);
  }
  return out;
}

}  // namespace krait::data
