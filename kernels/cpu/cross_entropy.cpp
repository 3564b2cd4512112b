// kernels/cpu/cross_entropy.cpp — cross-entropy forward and backward (see cross_entropy.h).
#include "kernels/cpu/cross_entropy.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {

int64_t first_invalid_target(const int64_t* targets, int64_t rows, int64_t classes, int64_t ignore_index) {
  for (int64_t r = 0; r < rows; ++r)
    if (targets[r] != ignore_index && (targets[r] < 0 || targets[r] >= classes)) return r;
  return -1;
}

template <typename T>
CrossEntropySum cross_entropy_forward(const T* logits, const int64_t* targets, T* lse, int64_t rows, int64_t width,
                                      int64_t classes, int64_t ignore_index) {
  parallel_for(rows, 2 * classes, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* row = logits + r * width;
      const T peak = *std::max_element(row, row + classes);
      double sum = 0;
      for (int64_t v = 0; v < classes; ++v) sum += std::exp(double(row[v] - peak));
      lse[r] = T(double(peak) + std::log(sum));
    }
  });
  // Summed serially in row order so the loss does not depend on the thread count.
  CrossEntropySum total;
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] == ignore_index) continue;
    total.loss += double(lse[r]) - double(logits[r * width + targets[r]]);
    ++total.kept;
  }
  return total;
}

template <typename T>
void cross_entropy_backward(const T* logits, const int64_t* targets, const T* lse, T scale, T* grad_logits,
                            int64_t rows, int64_t width, int64_t classes, int64_t ignore_index) {
  parallel_for(rows, 2 * width, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      T* g = grad_logits + r * width;
      if (targets[r] == ignore_index) {
        std::fill(g, g + width, T(0));
        continue;
      }
      const T* row = logits + r * width;
      for (int64_t v = 0; v < classes; ++v) g[v] = scale * std::exp(row[v] - lse[r]);
      std::fill(g + classes, g + width, T(0));
      g[targets[r]] -= scale;
    }
  });
}

template CrossEntropySum cross_entropy_forward<float>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t,
                                                      int64_t);
template CrossEntropySum cross_entropy_forward<double>(const double*, const int64_t*, double*, int64_t, int64_t,
                                                       int64_t, int64_t);
template void cross_entropy_backward<float>(const float*, const int64_t*, const float*, float, float*, int64_t,
                                            int64_t, int64_t, int64_t);
template void cross_entropy_backward<double>(const double*, const int64_t*, const double*, double, double*, int64_t,
                                             int64_t, int64_t, int64_t);

}  // namespace krait::kernels::cpu
