// kernels/dtype.h — DType, the element types Krait stores, with their sizes and names.
#pragma once

#include <cstddef>
#include <cstdint>

namespace krait {

enum class DType : uint8_t { F32, BF16, F64, I32, I64 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::I64: return 8;
  }
  return 0;
}

constexpr const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::BF16: return "bf16";
    case DType::F64: return "f64";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t == DType::F32 || t == DType::BF16 || t == DType::F64; }

}  // namespace krait
