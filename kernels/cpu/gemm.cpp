// kernels/cpu/gemm.cpp — the CPU gemm: operands packed so the inner loop runs over contiguous
// rows of op(B), four rows of C at a time, rows of C split across threads. Each element of C is
// summed over k in the same order whatever the thread count, so results are reproducible.
#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace krait::kernels::cpu {
namespace {

// Copies the (rows x cols) row-major matrix src, transposed, into dst (cols x rows).
template <typename T>
void transpose_into(const T* src, int64_t rows, int64_t cols, T* dst) {
  constexpr int64_t kTile = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile)
    for (int64_t c0 = 0; c0 < cols; c0 += kTile)
      for (int64_t r = r0; r < std::min(rows, r0 + kTile); ++r)
        for (int64_t c = c0; c < std::min(cols, c0 + kTile); ++c) dst[c * rows + r] = src[r * cols + c];
}

// C[rows begin..end) += A (m x k, row-major) * B (k x n, row-major). Compiled for AVX2+FMA with a
// portable fallback chosen at run time.
template <typename T>
__attribute__((target_clones("arch=x86-64-v3", "default")))
void gemm_rows(const T* a, const T* b, T* c, int64_t begin, int64_t end, int64_t n, int64_t k) {
  constexpr int64_t kBlockK = 128, kBlockN = 256;
  for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
    const int64_t j1 = std::min(n, j0 + kBlockN);
    for (int64_t p0 = 0; p0 < k; p0 += kBlockK) {
      const int64_t p1 = std::min(k, p0 + kBlockK);
      int64_t i = begin;
      for (; i + 4 <= end; i += 4) {
        T* c0 = c + i * n; T* c1 = c0 + n; T* c2 = c1 + n; T* c3 = c2 + n;
        const T* a0 = a + i * k; const T* a1 = a0 + k; const T* a2 = a1 + k; const T* a3 = a2 + k;
        for (int64_t p = p0; p < p1; ++p) {
          const T* bp = b + p * n;
          const T x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p];
          for (int64_t j = j0; j < j1; ++j) {
            const T bj = bp[j];
            c0[j] += x0 * bj; c1[j] += x1 * bj; c2[j] += x2 * bj; c3[j] += x3 * bj;
          }
        }
      }
      for (; i < end; ++i) {
        T* ci = c + i * n;
        const T* ai = a + i * k;
        for (int64_t p = p0; p < p1; ++p) {
          const T* bp = b + p * n;
          const T x = ai[p];
          for (int64_t j = j0; j < j1; ++j) ci[j] += x * bp[j];
        }
      }
    }
  }
}

}  // namespace

template <typename T>
void gemm(const GemmShape& s, const T* a, const T* b, T* c) {
  const int64_t m = s.m, n = s.n, k = s.k;
  const bool reduce_into_c = s.stride_c == 0 && s.batch > 1;
  std::vector<T> packed_a(s.trans_a ? m * k : 0), packed_b(s.trans_b ? k * n : 0);
  std::vector<T> product(reduce_into_c ? m * n : 0);
  const T* last_b = nullptr;
  for (int64_t i = 0; i < s.batch; ++i) {
    const T* ai = a + i * s.stride_a;
    const T* bi = b + i * s.stride_b;
    T* ci = c + i * s.stride_c;
    if (s.trans_a) {
      transpose_into(ai, k, m, packed_a.data());
      ai = packed_a.data();
    }
    if (s.trans_b) {
      if (bi != last_b) transpose_into(bi, n, k, packed_b.data());  // a broadcast B is packed once
      last_b = bi;
      bi = packed_b.data();
    }
    // Where the batches are reduced into one C, each product is formed apart and then added, so
    // the sum runs over batches in order.
    T* target = reduce_into_c ? product.data() : ci;
    if (reduce_into_c || !s.accumulate) std::fill(target, target + m * n, T(0));
    parallel_for(m, 2 * n * k, [&](int64_t begin, int64_t end) { gemm_rows(ai, bi, target, begin, end, n, k); });
    if (reduce_into_c) {
      if (i == 0 && !s.accumulate) std::copy(product.begin(), product.end(), c);
      else for (int64_t e = 0; e < m * n; ++e) c[e] += product[e];
    }
  }
}

template void gemm<float>(const GemmShape&, const float*, const float*, float*);
template void gemm<double>(const GemmShape&, const double*, const double*, double*);

}  // namespace krait::kernels::cpu
