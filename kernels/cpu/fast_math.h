// kernels/cpu/fast_math.h — e^x and softplus for float in plain branch-free arithmetic, so that
// loops calling them vectorize under -O3 (std::exp and std::log1p do not without -ffast-math).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace krait::kernels::cpu {

// c ? a : b, chosen with integer masks rather than a branch. GCC, under its default
// -ftrapping-math, does not if-convert a branch around floating-point code, and such a branch keeps
// the loop around it from vectorizing.
template <typename T> T branchless_select(bool c, T a, T b) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  const Bits mask = Bits(0) - Bits(c);
  return std::bit_cast<T>((std::bit_cast<Bits>(a) & mask) | (std::bit_cast<Bits>(b) & ~mask));
}

// e^x within 2 ulp where it is a normal float; 0 where it would be subnormal, +inf where it
// overflows, NaN for NaN.
inline float fast_exp(float x) {
  constexpr float kMin = -87.33654022f;  // the least float whose e^x is normal (>= FLT_MIN)
  constexpr float kMax = 88.72283173f;   // the greatest float whose e^x is finite
  constexpr float kLog2e = 1.44269504f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // ln 2 = hi + lo; k * hi is exact
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer held in the low bits

  // e^x = 2^k e^r with k = round(x / ln 2) and |r| <= ln 2 / 2 (meaningless outside [kMin, kMax],
  // where the selects below discard it).
  const float shifted = x * kLog2e + kRound;
  const float k = shifted - kRound;
  const float r = (x - k * kLn2Hi) - k * kLn2Lo;
  // e^r = 1 + r + r^2 p(r), p the minimax polynomial of Cephes' expf.
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * (r * r) + r + 1.0f;
  // Times 2^k by adding k to the exponent field of e^r, which lies in [2^-0.5, 2^0.5]: within
  // [kMin, kMax] the sum stays a normal exponent.
  const uint32_t k_bits = std::bit_cast<uint32_t>(shifted) - std::bit_cast<uint32_t>(kRound);
  const float result = std::bit_cast<float>(std::bit_cast<uint32_t>(er) + (k_bits << 23));

  const float outside = branchless_select(x > kMax, std::numeric_limits<float>::infinity(), 0.0f);
  return branchless_select(x != x, x, branchless_select((x >= kMin) & (x <= kMax), result, outside));
}

// softplus(x) = log(1 + e^x) within 4 ulp, as max(x, 0) + log1p(e^-|x|) with
// log1p(y) = 2 atanh(s) = 2 (s + s^3/3 + ... + s^13/13), s = y / (2 + y) <= 1/3: the series needs no
// reduction of its argument and is accurate however small y is.
inline float fast_softplus(float x) {
  const float y = fast_exp(-std::fabs(x));
  const float s = y / (2.0f + y), s2 = s * s;
  float p = 2.0f / 13;
  p = p * s2 + 2.0f / 11;
  p = p * s2 + 2.0f / 9;
  p = p * s2 + 2.0f / 7;
  p = p * s2 + 2.0f / 5;
  p = p * s2 + 2.0f / 3;
  p = p * s2 + 2.0f;
  return branchless_select(x > 0.0f, x, 0.0f) + s * p;
}

}  // namespace krait::kernels::cpu
