// kernels/bf16.h — bf16 on the host: a 16-bit storage type with round-to-nearest-even conversion
// from float (the same bits as CUDA's __nv_bfloat16, so buffers move between them unchanged).
#pragma once

#include <cstdint>
#include <cstring>

namespace krait {

struct bf16 {
  uint16_t bits = 0;

  bf16() = default;
  explicit bf16(float f) : bits(from_float(f)) {}
  explicit operator float() const {
    const uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }

  static uint16_t from_float(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
    const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
    return static_cast<uint16_t>((u + rounding) >> 16);
  }
};
static_assert(sizeof(bf16) == 2);

}  // namespace krait
