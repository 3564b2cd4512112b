// kernels/cpu/gemm.h — batched matrix product on the host (the CPU reference for cuBLAS calls).
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// For each batch i: C_i (m x n) = op(A_i) (m x k) * op(B_i) (k x n), all row-major.
// op(A) = A if !trans_a (A stored m x k) else A^T (A stored k x m); likewise B (k x n or n x k).
// A stride of 0 broadcasts that operand across the batch. stride_c == 0 sums every batch's
// product into the single C (how a shared weight's gradient is reduced), in batch order.
// accumulate adds into C instead of overwriting it.
struct GemmShape {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  bool accumulate = false;
};

template <typename T>
void gemm(const GemmShape& shape, const T* a, const T* b, T* c);

}  // namespace krait::kernels::cpu
