// kernels/cuda/elementwise.h — pointwise kernels on the device, the CUDA side of kernels/cpu/elementwise.h:
// SiLU, softplus, sigmoid and exp with their gradients, add and mul (the second operand optionally
// broadcast over the leading axes), scaling, and the deterministic sums over the leading axes that are
// a broadcast operand's gradient. Every buffer is f32 or bf16 (`type`); arithmetic is in f32.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

enum class Unary { Silu, Softplus, Sigmoid, Exp };

// y = f(x) over n elements. Softplus is x itself above cpu::kSoftplusThreshold (20).
void unary_forward(Unary op, const void* x, void* y, DType type, int64_t n, cudaStream_t stream);

// grad_x = grad_y * f'. `saved` is the forward's input x for Silu and Softplus and its output y for
// Sigmoid and Exp (as cpu::sigmoid_backward takes y).
void unary_backward(Unary op, const void* saved, const void* grad_y, void* grad_x, DType type, int64_t n,
                    cudaStream_t stream);

enum class Binary { Add, Mul };

// y[o, i] = a[o, i] op b[i] with a and y (outer, inner) and b (inner) repeated over outer; outer = 1 is
// the same-shape form (cpu::add, cpu::mul_forward), outer > 1 cpu::add_broadcast / cpu::mul_broadcast.
void binary_forward(Binary op, const void* a, const void* b, void* y, DType type, int64_t outer, int64_t inner,
                    cudaStream_t stream);

// y = alpha * x over n elements.
void scale(const void* x, float alpha, void* y, DType type, int64_t n, cudaStream_t stream);

// out[i] = sum over o of x[o, i] (w null: cpu::sum_outer, the gradient of a broadcast Add operand) or of
// x[o, i] * w[o, i] (cpu::sum_outer_product, the gradient of a broadcast Mul operand). x and w are
// (outer, inner), out is (inner). Each block sums a fixed chunk of rows and the chunks' partial sums are
// added in chunk order, so the result depends only on the shape (bit-identical between runs). workspace
// holds sum_outer_workspace_bytes(outer, inner) bytes (0: it may be null).
size_t sum_outer_workspace_bytes(int64_t outer, int64_t inner);
void sum_outer(const void* x, const void* w, void* out, DType type, int64_t outer, int64_t inner, void* workspace,
               cudaStream_t stream);

}  // namespace krait::kernels::cuda
