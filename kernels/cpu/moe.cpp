// kernels/cpu/moe.cpp — softmax, routing and the token <-> expert row gathers (see moe.h).
#include "kernels/cpu/moe.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {
namespace {

// NaN ranks lowest, as -infinity.
template <typename T> T rank_key(T v) { return v != v ? -std::numeric_limits<T>::infinity() : v; }

// (v, i) ranks before (w, j): larger, or equal with a lower index — a strict total order, so the top k are unique.
template <typename T> bool ranks_before(T v, int64_t i, T w, int64_t j) { return v > w || (v == w && i < j); }

// expert[0..k) = the first k of row's experts in rank order: each choice is the best of those ranking after the
// previous choice, so nothing needs marking as taken.
template <typename T> void top_k_row(const T* row, int32_t* expert, int64_t experts, int64_t k) {
  for (int64_t c = 0; c < k; ++c) {
    const int64_t prev = c > 0 ? expert[c - 1] : -1;
    const T prev_v = c > 0 ? rank_key(row[prev]) : T(0);
    int64_t best = -1;
    T best_v(0);
    for (int64_t e = 0; e < experts; ++e) {
      const T v = rank_key(row[e]);
      if (prev >= 0 && !ranks_before(prev_v, prev, v, e)) continue;
      if (best < 0 || ranks_before(v, e, best_v, best)) best = e, best_v = v;
    }
    expert[c] = static_cast<int32_t>(best);
  }
}

}  // namespace

template <typename T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t width) {
  parallel_for(rows, 4 * width, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* in = x + r * width;
      T* out = y + r * width;
      const T m = *std::max_element(in, in + width);
      T sum(0);
      for (int64_t j = 0; j < width; ++j) sum += out[j] = std::exp(in[j] - m);
      for (int64_t j = 0; j < width; ++j) out[j] /= sum;
    }
  });
}

template <typename T> void softmax_backward(const T* y, const T* grad_y, T* grad_x, int64_t rows, int64_t width) {
  parallel_for(rows, 2 * width, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* p = y + r * width;
      const T* g = grad_y + r * width;
      T dot(0);
      for (int64_t j = 0; j < width; ++j) dot += g[j] * p[j];
      for (int64_t j = 0; j < width; ++j) grad_x[r * width + j] = p[j] * (g[j] - dot);
    }
  });
}

template <typename T>
void route_experts(const T* probs, int32_t* expert, int32_t* slot, int32_t* source, T* fraction, int32_t* load,
                   const MoeShape& shape) {
  const int64_t tokens = shape.tokens, experts = shape.experts, k = shape.top_k, capacity = shape.capacity;
  parallel_for(tokens, experts * k, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) top_k_row(probs + t * experts, expert + t * k, experts, k);
  });
  // Choices in priority order take their expert's next buffer row while rows remain.
  std::fill(source, source + experts * capacity, -1);
  std::vector<int64_t> taken(experts, 0);
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t t = 0; t < tokens; ++t) {
      const int64_t i = t * k + c, e = expert[i], row = taken[e]++;
      slot[i] = row < capacity ? static_cast<int32_t>(row) : -1;
      if (row < capacity) source[e * capacity + row] = static_cast<int32_t>(i);
    }
    if (c == 0)  // the first choices alone, before capacity: Switch's f_e
      for (int64_t e = 0; e < experts; ++e) fraction[e] = static_cast<T>(double(taken[e]) / double(tokens));
  }
  for (int64_t e = 0; e < experts; ++e) load[e] = static_cast<int32_t>(std::min(taken[e], capacity));
}

template <typename T> void gather_gates(const T* probs, const int32_t* expert, T* gates, const MoeShape& shape) {
  for (int64_t i = 0; i < shape.tokens * shape.top_k; ++i)
    gates[i] = probs[(i / shape.top_k) * shape.experts + expert[i]];
}

template <typename T>
void gather_gates_backward(const T* grad_gates, const int32_t* expert, T* grad_probs, const MoeShape& shape) {
  std::fill(grad_probs, grad_probs + shape.tokens * shape.experts, T(0));
  // A token's choices are distinct experts: each element is written at most once.
  for (int64_t i = 0; i < shape.tokens * shape.top_k; ++i)
    grad_probs[(i / shape.top_k) * shape.experts + expert[i]] = grad_gates[i];
}

template <typename T>
void tokens_to_experts(const T* tokens, const int32_t* source, const T* gates, T* out, const MoeShape& shape,
                       int64_t dim) {
  parallel_for(shape.experts * shape.capacity, dim, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      T* o = out + r * dim;
      const int64_t src = source[r];
      if (src < 0) {
        std::fill(o, o + dim, T(0));
        continue;
      }
      const T* in = tokens + (src / shape.top_k) * dim;
      const T scale = gates ? gates[src] : T(1);
      for (int64_t j = 0; j < dim; ++j) o[j] = scale * in[j];
    }
  });
}

template <typename T>
void experts_to_tokens(const T* rows, const int32_t* expert, const int32_t* slot, const T* gates, T* out,
                       const MoeShape& shape, int64_t dim) {
  const int64_t k = shape.top_k;
  parallel_for(shape.tokens, k * dim, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      T* o = out + t * dim;
      std::fill(o, o + dim, T(0));
      for (int64_t i = t * k; i < (t + 1) * k; ++i) {
        if (slot[i] < 0) continue;
        const T* in = rows + (int64_t(expert[i]) * shape.capacity + slot[i]) * dim;
        const T scale = gates ? gates[i] : T(1);
        for (int64_t j = 0; j < dim; ++j) o[j] += scale * in[j];
      }
    }
  });
}

template <typename T>
void combine_gates_backward(const T* y, const T* grad_out, const int32_t* expert, const int32_t* slot, T* grad_gates,
                            const MoeShape& shape, int64_t dim) {
  parallel_for(shape.tokens * shape.top_k, dim, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      T dot(0);
      if (slot[i] >= 0) {
        const T* a = y + (int64_t(expert[i]) * shape.capacity + slot[i]) * dim;
        const T* b = grad_out + (i / shape.top_k) * dim;
        for (int64_t j = 0; j < dim; ++j) dot += a[j] * b[j];
      }
      grad_gates[i] = dot;
    }
  });
}

#define KRAIT_INSTANTIATE(T)                                                                                        \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t);                                                 \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t);                                      \
  template void route_experts<T>(const T*, int32_t*, int32_t*, int32_t*, T*, int32_t*, const MoeShape&);            \
  template void gather_gates<T>(const T*, const int32_t*, T*, const MoeShape&);                                     \
  template void gather_gates_backward<T>(const T*, const int32_t*, T*, const MoeShape&);                            \
  template void tokens_to_experts<T>(const T*, const int32_t*, const T*, T*, const MoeShape&, int64_t);             \
  template void experts_to_tokens<T>(const T*, const int32_t*, const int32_t*, const T*, T*, const MoeShape&,       \
                                     int64_t);                                                                      \
  template void combine_gates_backward<T>(const T*, const T*, const int32_t*, const int32_t*, T*, const MoeShape&, \
                                          int64_t);
KRAIT_INSTANTIATE(float)
KRAIT_INSTANTIATE(double)
#undef KRAIT_INSTANTIATE

}  // namespace krait::kernels::cpu
