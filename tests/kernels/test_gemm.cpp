// The CPU gemm against a brute-force triple loop, over transposes, broadcasting, batch reduction,
// accumulation and sizes that are not multiples of its blocks.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/rng.h"
#include "kernels/cpu/gemm.h"

namespace krait::kernels::cpu {
namespace {

struct Case {
  int64_t batch, m, n, k;
  bool ta, tb, share_b, reduce, accumulate;
};

std::vector<double> brute_force(const Case& c, const std::vector<double>& a, const std::vector<double>& b,
                                std::vector<double> out) {
  for (int64_t i = 0; i < c.batch; ++i)
    for (int64_t r = 0; r < c.m; ++r)
      for (int64_t col = 0; col < c.n; ++col) {
        double s = 0;
        for (int64_t p = 0; p < c.k; ++p) {
          const double av = a[i * c.m * c.k + (c.ta ? p * c.m + r : r * c.k + p)];
          const int64_t bo = c.share_b ? 0 : i * c.k * c.n;
          const double bv = b[bo + (c.tb ? col * c.k + p : p * c.n + col)];
          s += av * bv;
        }
        double& dst = out[(c.reduce ? 0 : i * c.m * c.n) + r * c.n + col];
        dst = (c.accumulate || (c.reduce && i > 0)) ? dst + s : s;
      }
  return out;
}

class GemmTest : public ::testing::TestWithParam<Case> {};

TEST_P(GemmTest, MatchesBruteForce) {
  const Case c = GetParam();
  Rng rng(7);
  auto fill = [&](int64_t n) {
    std::vector<double> v(n);
    for (double& x : v) x = rng.uniform(-1, 1);
    return v;
  };
  const std::vector<double> a = fill(c.batch * c.m * c.k);
  const std::vector<double> b = fill((c.share_b ? 1 : c.batch) * c.k * c.n);
  std::vector<double> out = fill((c.reduce ? 1 : c.batch) * c.m * c.n);
  const std::vector<double> expected = brute_force(c, a, b, out);
  GemmShape s{c.batch, c.m, c.n, c.k, c.ta, c.tb, c.m * c.k, c.share_b ? 0 : c.k * c.n,
              c.reduce ? 0 : c.m * c.n, c.accumulate};
  gemm(s, a.data(), b.data(), out.data());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], expected[i], 1e-12) << "element " << i;
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmTest,
                         ::testing::Values(Case{1, 1, 1, 1, false, false, false, false, false},
                                           Case{1, 7, 5, 3, false, false, false, false, false},
                                           Case{1, 130, 300, 260, false, false, false, false, false},
                                           Case{3, 9, 11, 13, true, false, false, false, false},
                                           Case{3, 9, 11, 13, false, true, true, false, false},
                                           Case{2, 6, 5, 4, true, true, false, false, true},
                                           Case{4, 5, 6, 7, true, false, false, true, false},
                                           Case{4, 5, 6, 7, false, true, false, true, true}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           const Case& c = info.param;
                           return "b" + std::to_string(c.batch) + "m" + std::to_string(c.m) + "n" +
                                  std::to_string(c.n) + "k" + std::to_string(c.k) + (c.ta ? "_ta" : "") +
                                  (c.tb ? "_tb" : "") + (c.share_b ? "_shared" : "") + (c.reduce ? "_reduce" : "") +
                                  (c.accumulate ? "_acc" : "");
                         });

}  // namespace
}  // namespace krait::kernels::cpu
