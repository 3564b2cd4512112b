// kernels/cpu/cast.cpp — host dtype conversion (see cast.h).
#include "kernels/cpu/cast.h"

#include <type_traits>

#include "kernels/bf16.h"

namespace krait::kernels::cpu {
namespace {

template <typename To, typename From> To convert(From v) {
  if constexpr (std::is_same_v<From, bf16>) return convert<To>(static_cast<float>(v));
  else if constexpr (std::is_same_v<To, bf16>) return bf16(static_cast<float>(v));
  else return static_cast<To>(v);
}

template <typename From> void cast_from(const From* src, void* dst, DType dst_type, int64_t n) {
  auto run = [&](auto* out) {
    using To = std::remove_pointer_t<decltype(out)>;
    for (int64_t i = 0; i < n; ++i) out[i] = convert<To>(src[i]);
  };
  switch (dst_type) {
    case DType::F32: return run(static_cast<float*>(dst));
    case DType::BF16: return run(static_cast<bf16*>(dst));
    case DType::F64: return run(static_cast<double*>(dst));
    case DType::I32: return run(static_cast<int32_t*>(dst));
    case DType::I64: return run(static_cast<int64_t*>(dst));
  }
}

}  // namespace

void cast(const void* src, DType src_type, void* dst, DType dst_type, int64_t n) {
  switch (src_type) {
    case DType::F32: return cast_from(static_cast<const float*>(src), dst, dst_type, n);
    case DType::BF16: return cast_from(static_cast<const bf16*>(src), dst, dst_type, n);
    case DType::F64: return cast_from(static_cast<const double*>(src), dst, dst_type, n);
    case DType::I32: return cast_from(static_cast<const int32_t*>(src), dst, dst_type, n);
    case DType::I64: return cast_from(static_cast<const int64_t*>(src), dst, dst_type, n);
  }
}

}  // namespace krait::kernels::cpu
