// kernels/cpu/cross_entropy.h — softmax cross-entropy over rows of logits on the host, with rows whose
// target is ignore_index left out. A row holds `width` logits of which the first `classes` are the
// classes: the rest (a padded vocabulary's extra rows) are left out of the softmax and get a zero
// gradient, so the loss equals the unpadded model's exactly.
#pragma once

#include <cstdint>

namespace krait::kernels::cpu {

// The first row whose target is neither ignore_index nor in [0, classes), or -1 when there is none.
int64_t first_invalid_target(const int64_t* targets, int64_t rows, int64_t classes, int64_t ignore_index);

struct CrossEntropySum {
  double loss = 0;   // sum over the kept rows of lse[r] - logits[r, targets[r]]
  int64_t kept = 0;  // rows whose target is not ignore_index
};

// logits (rows, width), 1 <= classes <= width; writes lse[r] = log(sum_{v < classes} exp(logits[r, v]))
// for every row (max-shifted, so it cannot overflow). Targets must be valid.
template <typename T>
CrossEntropySum cross_entropy_forward(const T* logits, const int64_t* targets, T* lse, int64_t rows, int64_t width,
                                      int64_t classes, int64_t ignore_index);

// grad_logits (rows, width) = scale * (softmax(logits[r]) - onehot(targets[r])) over the classes for kept
// rows, zero for ignored rows and for the columns past the classes. The softmax is recomputed from
// logits and the forward's lse.
template <typename T>
void cross_entropy_backward(const T* logits, const int64_t* targets, const T* lse, T scale, T* grad_logits,
                            int64_t rows, int64_t width, int64_t classes, int64_t ignore_index);

}  // namespace krait::kernels::cpu
