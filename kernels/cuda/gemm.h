// kernels/cuda/gemm.h — batched matrix products on the device through cuBLASLt: row-major operands
// in f32 or bf16, fp32 accumulation, output f32 or bf16; the GPU counterpart of kernels/cpu/gemm.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

// What cuBLASLt needs besides the operands: a handle, a scratch buffer and the stream.
struct GemmContext {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  cudaStream_t stream = nullptr;
};

// Same semantics as cpu::GemmShape (row-major; op() transposes; stride 0 shares an operand across the
// batch; stride_c == 0 sums every batch's product into one C, in batch order; accumulate adds into C).
struct GemmProblem {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  bool accumulate = false;
  DType input_type = DType::F32;   // of A and B: F32 or BF16
  DType output_type = DType::F32;  // of C: F32 or BF16
};

void gemm(const GemmContext& ctx, const GemmProblem& problem, const void* a, const void* b, void* c);

}  // namespace krait::kernels::cuda
