// kernels/cpu/attention.cpp — causal attention forward and backward (see attention.h). Threads split the
// (batch, head) pairs: each owns its head's columns of out, lse and grad_qkv, so results do not depend
// on the thread count. A query row's scores live in a scratch row of `length` values.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {
namespace {

// Where one (batch, head) pair's vectors sit in qkv and out.
struct HeadView {
  int64_t row_stride, out_stride;  // elements between consecutive positions
  int64_t q, k, v, o;              // offsets of position 0's query, key, value and output vectors
  int64_t lse;                     // offset of position 0's lse
};

HeadView head_view(int64_t pair, int64_t length, int64_t heads, int64_t head_dim) {
  const int64_t b = pair / heads, h = pair % heads, width = heads * head_dim;
  HeadView v;
  v.row_stride = 3 * width, v.out_stride = width;
  v.q = b * length * v.row_stride + h * head_dim;
  v.k = v.q + width, v.v = v.q + 2 * width;
  v.o = b * length * width + h * head_dim;
  v.lse = pair * length;
  return v;
}

template <typename T> T dot(const T* a, const T* b, int64_t n) {
  T acc = T(0);
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

// Pairs cost about length^2 / 2 * head_dim multiply-adds each (twice that and more in backward).
int64_t pair_cost(int64_t length, int64_t head_dim) { return std::max<int64_t>(1, length * length / 2 * head_dim); }

}  // namespace

template <typename T>
void causal_attention_forward(const T* qkv, T* out, T* lse, int64_t batch, int64_t length, int64_t heads,
                              int64_t head_dim) {
  const T scale = T(1) / std::sqrt(T(head_dim));
  parallel_for(batch * heads, pair_cost(length, head_dim), [&](int64_t begin, int64_t end) {
    std::vector<T> scores(length);
    for (int64_t pair = begin; pair < end; ++pair) {
      const HeadView hv = head_view(pair, length, heads, head_dim);
      for (int64_t t = 0; t < length; ++t) {
        const T* q = qkv + hv.q + t * hv.row_stride;
        T max = -INFINITY;
        for (int64_t s = 0; s <= t; ++s) {
          scores[s] = dot(q, qkv + hv.k + s * hv.row_stride, head_dim) * scale;
          max = std::max(max, scores[s]);
        }
        T sum = T(0);
        for (int64_t s = 0; s <= t; ++s) sum += scores[s] = std::exp(scores[s] - max);
        T* o = out + hv.o + t * hv.out_stride;
        std::fill(o, o + head_dim, T(0));
        for (int64_t s = 0; s <= t; ++s) {
          const T p = scores[s] / sum, *v = qkv + hv.v + s * hv.row_stride;
          for (int64_t i = 0; i < head_dim; ++i) o[i] += p * v[i];
        }
        lse[hv.lse + t] = max + std::log(sum);
      }
    }
  });
}

// With p[t,s] = exp(score[t,s] - lse[t]) and D[t] = dO[t] . O[t] (= sum_s p[t,s] dO[t] . v[s]):
// dV[s] += p dO[t]; dS = p (dO[t] . v[s] - D[t]); dQ[t] += dS k[s] * scale; dK[s] += dS q[t] * scale.
template <typename T>
void causal_attention_backward(const T* qkv, const T* out, const T* lse, const T* grad_out, T* grad_qkv,
                               int64_t batch, int64_t length, int64_t heads, int64_t head_dim) {
  const T scale = T(1) / std::sqrt(T(head_dim));
  parallel_for(batch * heads, 3 * pair_cost(length, head_dim), [&](int64_t begin, int64_t end) {
    for (int64_t pair = begin; pair < end; ++pair) {
      const HeadView hv = head_view(pair, length, heads, head_dim);
      for (int64_t t = 0; t < length; ++t)
        for (const int64_t part : {hv.q, hv.k, hv.v})
          std::fill_n(grad_qkv + part + t * hv.row_stride, head_dim, T(0));
      for (int64_t t = 0; t < length; ++t) {
        const T *q = qkv + hv.q + t * hv.row_stride, *dout = grad_out + hv.o + t * hv.out_stride;
        const T d = dot(dout, out + hv.o + t * hv.out_stride, head_dim), row_lse = lse[hv.lse + t];
        T* dq = grad_qkv + hv.q + t * hv.row_stride;
        for (int64_t s = 0; s <= t; ++s) {
          const T *k = qkv + hv.k + s * hv.row_stride, *v = qkv + hv.v + s * hv.row_stride;
          T *dk = grad_qkv + hv.k + s * hv.row_stride, *dv = grad_qkv + hv.v + s * hv.row_stride;
          const T p = std::exp(dot(q, k, head_dim) * scale - row_lse);
          const T ds = p * (dot(dout, v, head_dim) - d) * scale;
          for (int64_t i = 0; i < head_dim; ++i) {
            dv[i] += p * dout[i];
            dq[i] += ds * k[i];
            dk[i] += ds * q[i];
          }
        }
      }
    }
  });
}

template void causal_attention_forward<float>(const float*, float*, float*, int64_t, int64_t, int64_t, int64_t);
template void causal_attention_forward<double>(const double*, double*, double*, int64_t, int64_t, int64_t, int64_t);
template void causal_attention_backward<float>(const float*, const float*, const float*, const float*, float*, int64_t,
                                               int64_t, int64_t, int64_t);
template void causal_attention_backward<double>(const double*, const double*, const double*, const double*, double*,
                                                int64_t, int64_t, int64_t, int64_t);

}  // namespace krait::kernels::cpu
