// kernels/cuda/cross_entropy.h — fused softmax cross-entropy over the vocabulary on the device, with rows
// whose target is ignore_index left out, over the first `classes` of each row's `width` logits (the rest,
// a padded vocabulary's extra rows, are left out of the softmax and get a zero gradient); the CUDA side
// of kernels/cpu/cross_entropy.h. Logits are f32 or
// bf16 (`type`); the softmax statistics, losses and sums are f32 (the final sum double). No (rows, vocab)
// softmax is ever stored: backward recomputes it from the logits and the forward's log-sum-exp.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace krait::kernels::cuda {

// *first (one int64 on the device) = the first row whose target is neither ignore_index nor in
// [0, classes), or -1 (cpu::first_invalid_target). Only enqueued: the host reads *first when it next
// waits for the device. The other kernels here read no logit at an invalid target.
void find_first_invalid_target(const int64_t* targets, int64_t rows, int64_t classes, int64_t ignore_index,
                               int64_t* first, cudaStream_t stream);

// logits (rows, width), 1 <= classes <= width -> lse[r] = log(sum_{v < classes} exp(logits[r, v])) for
// every row (max-shifted) and loss[r] = lse[r] - logits[r, targets[r]], 0 for ignored rows (NaN for an
// invalid target, which is not read).
void cross_entropy_forward(const void* logits, DType type, const int64_t* targets, float* loss, float* lse,
                           int64_t rows, int64_t width, int64_t classes, int64_t ignore_index, cudaStream_t stream);

// One block adds the per-row losses in a fixed order (double) and counts the kept rows:
// *total = the sum, divided by the kept count when mean (0 when no row is kept); *kept (may be null) =
// the kept count. Both outputs are on the device.
void cross_entropy_reduce(const float* loss, const int64_t* targets, int64_t rows, int64_t ignore_index, bool mean,
                          float* total, int64_t* kept, cudaStream_t stream);

// grad_logits (rows, width, `type`) = scale * (softmax(logits[r]) - onehot(targets[r])) over the classes
// for kept rows, zero for ignored rows and for the columns past the classes, with the softmax recomputed
// as exp(logits - lse). scale = *grad_loss (the gradient
// reaching the loss), divided by *kept for a mean when kept is not null (0 when no row is kept); both
// are read on the device, so nothing waits for the host.
void cross_entropy_backward(const void* logits, DType type, const int64_t* targets, const float* lse,
                            const float* grad_loss, const int64_t* kept, void* grad_logits, int64_t rows, int64_t width,
                            int64_t classes, int64_t ignore_index, cudaStream_t stream);

}  // namespace krait::kernels::cuda
