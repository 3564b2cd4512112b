// The mixture-of-experts ops on the CPU: softmax against its formula; routing against hand-computed cases
// (priority order, ties, NaN, drops, empty experts, fraction, load) and its invariants on random inputs
// (source the inverse of slot, buffers filled in priority order); dispatch and combine against gathers written
// out here; float64 gradient checks of softmax, routing_gates through softmax, dispatch, combine and a whole
// Switch layer, at awkward sizes (T not a multiple of E, tokens dropped, top_k 1 and 2, E = 1, T = 1); and
// errors that name the op.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/ops.h"
#include "common/error.h"
#include "tests/support/error_text.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {
using ops::ExpertRouting;
using testing::error_text;
using testing::expect_close;
using testing::expect_gradcheck;
using testing::mentions;
using testing::random_leaf;
using testing::random_tensor;

// ---- softmax ----

TEST(Softmax, MatchesTheFormula) {
  Rng rng(1);
  for (const Shape& shape : std::vector<Shape>{{1}, {4}, {3, 5}, {2, 3, 7}, {6, 1}}) {
    const Tensor x = random_tensor(shape, rng, -5, 5);
    const int64_t width = shape.back(), rows = x.numel() / width;
    const std::vector<double> v = x.to_doubles();
    std::vector<double> want(v.size());
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (int64_t j = 0; j < width; ++j) sum += std::exp(v[r * width + j]);
      for (int64_t j = 0; j < width; ++j) want[r * width + j] = std::exp(v[r * width + j]) / sum;
    }
    const Tensor y = ops::softmax(x);
    EXPECT_EQ(y.shape(), shape);
    expect_close(y, want, 1e-13, 1e-15);
  }
}

TEST(Softmax, LargeLogitsDoNotOverflow) {
  const Tensor x = Tensor::from_vector({1000, 1000, 999, -1e4}, {1, 4}, DType::F64);
  const double e = std::exp(-1.0), sum = 2 + e;
  expect_close(ops::softmax(x), {1 / sum, 1 / sum, e / sum, 0.0}, 1e-14, 1e-300);
  expect_close(ops::softmax(x.to(DType::F32)), {1 / sum, 1 / sum, e / sum, 0.0}, 1e-6, 1e-30);
}

TEST(Softmax, Float32FollowsFloat64) {
  Rng rng(2);
  const Tensor x = random_tensor({33, 42}, rng, -8, 8);
  expect_close(ops::softmax(x.to(DType::F32)), ops::softmax(x).to_doubles(), 1e-5, 1e-7);
}

TEST(Softmax, Gradcheck) {
  Rng rng(3);
  for (const Shape& shape : std::vector<Shape>{{1}, {5}, {3, 5}, {2, 3, 7}, {4, 1}}) {
    expect_gradcheck([](const std::vector<Tensor>& in) { return ops::softmax(in[0]); }, {random_leaf(shape, rng, -3, 3)},
                     1e-8);
  }
}

TEST(Softmax, Errors) {
  Rng rng(4);
  EXPECT_TRUE(mentions(error_text([&] { ops::softmax(Tensor::from_indices({1, 2}, {2})); }), "softmax"));
  const std::string empty = error_text([&] { ops::softmax(random_tensor({3, 0}, rng)); });
  EXPECT_TRUE(mentions(empty, "softmax"));
  EXPECT_TRUE(mentions(empty, "f64[3, 0]"));
  EXPECT_TRUE(mentions(error_text([&] { ops::softmax(random_tensor({}, rng)); }), "softmax: x must have"));
}

// ---- routing ----

std::vector<double> ints(const Tensor& t) { return t.to_doubles(); }

// Five tokens over four experts (expert 3 always last), two choices each, two rows per expert. Token 2 ties
// experts 0 and 1 (0 wins), token 3 ties them for its second choice (0 again). In priority order (every first
// choice, then every second): e0 gets t0, t2 and drops t4's first choice and t3's second; e1 gets t1, t0's
// second and drops t2's second; e2 gets t3, t1's second and drops t4's second. Token 4 loses both choices.
Tensor hand_probs() {
  return Tensor::from_vector({0.5, 0.3, 0.2, 0.0,  //
                              0.1, 0.6, 0.3, 0.0,  //
                              0.4, 0.4, 0.2, 0.0,  //
                              0.2, 0.2, 0.6, 0.0,  //
                              0.7, 0.1, 0.2, 0.0},
                             {5, 4}, DType::F64);
}

TEST(MoeRouting, HandComputedPriorityTiesAndDrops) {
  for (DType dtype : {DType::F64, DType::F32}) {
    SCOPED_TRACE(dtype_name(dtype));
    const ExpertRouting r = ops::route_experts(hand_probs().to(dtype), 2, 2);
    EXPECT_EQ(r.tokens, 5);
    EXPECT_EQ(r.experts, 4);
    EXPECT_EQ(r.capacity, 2);
    EXPECT_EQ(r.top_k, 2);
    EXPECT_EQ(r.expert.shape(), (Shape{5, 2}));
    EXPECT_EQ(r.source.shape(), (Shape{4, 2}));
    EXPECT_EQ(r.expert.dtype(), DType::I32);
    EXPECT_EQ(r.fraction.dtype(), dtype);
    EXPECT_EQ(ints(r.expert), (std::vector<double>{0, 1, 1, 2, 0, 1, 2, 0, 0, 2}));
    EXPECT_EQ(ints(r.slot), (std::vector<double>{0, 1, 0, 1, 1, -1, 0, -1, -1, -1}));
    // source = t * k + c: e0 <- (t0, c0), (t2, c0); e1 <- (t1, c0), (t0, c1); e2 <- (t3, c0), (t1, c1); e3 empty.
    EXPECT_EQ(ints(r.source), (std::vector<double>{0, 4, 2, 1, 6, 3, -1, -1}));
    EXPECT_EQ(ints(r.load), (std::vector<double>{2, 2, 2, 0}));
    // First choices before capacity: e0 for t0, t2, t4; e1 for t1; e2 for t3.
    expect_close(r.fraction, {0.6, 0.2, 0.2, 0.0}, 1e-7, 0);
  }
}

TEST(MoeRouting, RoomForEveryoneDropsNothing) {
  const ExpertRouting r = ops::route_experts(hand_probs(), 2, 10);
  EXPECT_EQ(ints(r.slot), (std::vector<double>{0, 1, 0, 1, 1, 2, 0, 3, 2, 2}));
  EXPECT_EQ(ints(r.load), (std::vector<double>{4, 3, 3, 0}));
  const std::vector<double> source = ints(r.source);
  EXPECT_EQ(std::vector<double>(source.begin(), source.begin() + 5), (std::vector<double>{0, 4, 8, 7, -1}));
}

TEST(MoeRouting, TopOneTiesAndNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Tensor probs = Tensor::from_vector({0.25, 0.25, 0.25, 0.25,  //
                                            nan, 0.1, 0.2, 0.1,      //
                                            0.0, 0.0, 0.0, 0.5},
                                           {3, 4}, DType::F64);
  EXPECT_EQ(ints(ops::route_experts(probs, 1, 3).expert), (std::vector<double>{0, 2, 3}));
  // Full rankings: equal values by index, NaN last.
  EXPECT_EQ(ints(ops::route_experts(probs, 4, 3).expert),
            (std::vector<double>{0, 1, 2, 3, 2, 1, 3, 0, 3, 0, 1, 2}));
}

TEST(MoeRouting, OneExpertAndOneToken) {
  const ExpertRouting one_expert = ops::route_experts(Tensor::full({3, 1}, 1.0, DType::F64), 1, 2);
  EXPECT_EQ(ints(one_expert.slot), (std::vector<double>{0, 1, -1}));
  EXPECT_EQ(ints(one_expert.source), (std::vector<double>{0, 1}));
  expect_close(one_expert.fraction, {1.0}, 0, 0);
  const ExpertRouting one_token = ops::route_experts(Tensor::from_vector({0.2, 0.5, 0.3}, {1, 3}, DType::F64), 2, 1);
  EXPECT_EQ(ints(one_token.expert), (std::vector<double>{1, 2}));
  EXPECT_EQ(ints(one_token.slot), (std::vector<double>{0, 0}));
  EXPECT_EQ(ints(one_token.source), (std::vector<double>{-1, 0, 1}));
  EXPECT_EQ(ints(one_token.load), (std::vector<double>{0, 1, 1}));
}

// Invariants of any routing: the choices are a token's best distinct experts in rank order; each buffer is a
// prefix of its expert's choices in priority order; source is slot's inverse; every drop comes after a full buffer.
void expect_consistent_routing(const Tensor& probs, const ExpertRouting& r) {
  const int64_t T = r.tokens, E = r.experts, k = r.top_k, C = r.capacity;
  const std::vector<double> p = probs.to_doubles(), expert = ints(r.expert), slot = ints(r.slot),
                            source = ints(r.source), load = ints(r.load), fraction = r.fraction.to_doubles();
  std::vector<std::vector<int64_t>> queue(E);  // each expert's choices (t * k + c) in priority order
  std::vector<int64_t> first(E, 0);
  for (int64_t c = 0; c < k; ++c)
    for (int64_t t = 0; t < T; ++t) queue[int64_t(expert[t * k + c])].push_back(t * k + c);
  for (int64_t t = 0; t < T; ++t) {
    ++first[int64_t(expert[t * k])];
    for (int64_t c = 1; c < k; ++c) {
      const double prev = p[t * E + int64_t(expert[t * k + c - 1])], cur = p[t * E + int64_t(expert[t * k + c])];
      EXPECT_TRUE(prev > cur || (prev == cur && expert[t * k + c - 1] < expert[t * k + c])) << "token " << t;
    }
    for (int64_t e = 0; e < E; ++e) {  // nothing unchosen beats the last choice
      bool chosen = false;
      for (int64_t c = 0; c < k; ++c) chosen = chosen || expert[t * k + c] == e;
      EXPECT_TRUE(chosen || p[t * E + e] <= p[t * E + int64_t(expert[t * k + k - 1])]) << "token " << t;
    }
  }
  for (int64_t e = 0; e < E; ++e) {
    const int64_t kept = std::min<int64_t>(int64_t(queue[e].size()), C);
    EXPECT_EQ(load[e], kept) << "expert " << e;
    EXPECT_NEAR(fraction[e], double(first[e]) / double(T), 1e-15) << "expert " << e;
    for (int64_t n = 0; n < int64_t(queue[e].size()); ++n) {
      const int64_t i = queue[e][n];
      EXPECT_EQ(slot[i], n < C ? n : -1) << "choice " << i;
      if (n < C) {
        EXPECT_EQ(source[e * C + n], i) << "expert " << e << " row " << n;
      }
    }
    for (int64_t s = kept; s < C; ++s) EXPECT_EQ(source[e * C + s], -1) << "expert " << e << " row " << s;
  }
}

TEST(MoeRouting, RandomRoutingsAreConsistent) {
  Rng rng(5);
  for (const auto& [T, E, k, C] : std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>>{
           {1, 1, 1, 1}, {7, 3, 2, 2}, {37, 5, 2, 6}, {50, 4, 1, 9}, {64, 8, 3, 30}, {13, 6, 6, 13}}) {
    SCOPED_TRACE("T " + std::to_string(T) + " E " + std::to_string(E) + " k " + std::to_string(k));
    // Logits on a coarse grid: many ties.
    std::vector<double> logits = random_tensor({T, E}, rng, -2, 2).to_doubles();
    for (double& v : logits) v = std::round(v * 2) / 2;
    const Tensor probs = ops::softmax(Tensor::from_vector(logits, {T, E}, DType::F64));
    expect_consistent_routing(probs, ops::route_experts(probs, k, C));
  }
}

TEST(MoeRouting, RecordsNothing) {
  Rng rng(6);
  Tensor logits = random_leaf({6, 3}, rng);
  const Tensor probs = ops::softmax(logits);
  const size_t before = tape_size();
  const ExpertRouting r = ops::route_experts(probs, 2, 3);
  EXPECT_EQ(tape_size(), before);
  EXPECT_FALSE(r.fraction.requires_grad());
  clear_tape();
}

TEST(MoeRouting, Errors) {
  Rng rng(7);
  const Tensor probs = random_tensor({6, 3}, rng, 0, 1);
  const std::string zero_k = error_text([&] { ops::route_experts(probs, 0, 2); });
  EXPECT_TRUE(mentions(zero_k, "route_experts: top_k must be in [1, 3]"));
  EXPECT_TRUE(mentions(zero_k, "f64[6, 3]"));
  EXPECT_TRUE(mentions(error_text([&] { ops::route_experts(probs, 4, 2); }), "route_experts: top_k"));
  EXPECT_TRUE(mentions(error_text([&] { ops::route_experts(probs, 1, 0); }), "route_experts: capacity"));
  EXPECT_TRUE(mentions(error_text([&] { ops::route_experts(random_tensor({6}, rng), 1, 2); }),
                       "route_experts: probs must be (tokens, experts)"));
  EXPECT_TRUE(mentions(error_text([&] { ops::route_experts(random_tensor({0, 3}, rng), 1, 2); }), "route_experts"));
  EXPECT_TRUE(mentions(error_text([&] { ops::route_experts(Tensor::from_indices({1, 2}, {1, 2}), 1, 2); }),
                       "route_experts: probs must be f32"));
}

// ---- gates, dispatch, combine ----

// out (E, C, D) = x[source / k], zero rows where empty: moe_dispatch's definition.
std::vector<double> dispatch_reference(const std::vector<double>& x, const ExpertRouting& r, int64_t D) {
  const std::vector<double> source = ints(r.source);
  std::vector<double> out(source.size() * D, 0.0);
  for (size_t row = 0; row < source.size(); ++row)
    if (source[row] >= 0)
      for (int64_t j = 0; j < D; ++j) out[row * D + j] = x[int64_t(source[row]) / r.top_k * D + j];
  return out;
}

// out (T, D) = sum over kept choices of gates[t, c] * y[expert, slot]: moe_combine's definition.
std::vector<double> combine_reference(const std::vector<double>& y, const std::vector<double>& gates,
                                      const ExpertRouting& r, int64_t D) {
  const std::vector<double> expert = ints(r.expert), slot = ints(r.slot);
  std::vector<double> out(r.tokens * D, 0.0);
  for (int64_t i = 0; i < r.tokens * r.top_k; ++i)
    if (slot[i] >= 0)
      for (int64_t j = 0; j < D; ++j)
        out[i / r.top_k * D + j] += gates[i] * y[(int64_t(expert[i]) * r.capacity + int64_t(slot[i])) * D + j];
  return out;
}

TEST(MoeGates, AreTheChosenProbabilities) {
  const Tensor probs = hand_probs();
  const ExpertRouting r = ops::route_experts(probs, 2, 2);
  expect_close(ops::routing_gates(probs, r), {0.5, 0.3, 0.6, 0.3, 0.4, 0.4, 0.6, 0.2, 0.7, 0.2}, 0, 0);
}

TEST(MoeDispatch, MatchesTheDefinition) {
  Rng rng(8);
  const ExpertRouting r = ops::route_experts(hand_probs(), 2, 2);
  const Tensor x = random_tensor({5, 3}, rng);
  const Tensor out = ops::moe_dispatch(x, r);
  EXPECT_EQ(out.shape(), (Shape{4, 2, 3}));
  expect_close(out, dispatch_reference(x.to_doubles(), r, 3), 0, 0);
}

TEST(MoeCombine, MatchesTheDefinitionAndDroppedTokensGetZeros) {
  Rng rng(9);
  const Tensor probs = hand_probs();
  const ExpertRouting r = ops::route_experts(probs, 2, 2);
  const Tensor y = random_tensor({4, 2, 3}, rng), gates = ops::routing_gates(probs, r);
  const Tensor out = ops::moe_combine(y, gates, r);
  EXPECT_EQ(out.shape(), (Shape{5, 3}));
  const std::vector<double> want = combine_reference(y.to_doubles(), gates.to_doubles(), r, 3);
  expect_close(out, want, 1e-15, 1e-15);
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(out.to_doubles()[4 * 3 + j], 0.0);  // token 4 lost both choices
}

TEST(MoeCombine, UndoesDispatchWithUnitGatesWhereNothingIsDropped) {
  Rng rng(10);
  const Tensor probs = ops::softmax(random_tensor({11, 4}, rng));
  const ExpertRouting r = ops::route_experts(probs, 1, 11);
  const Tensor x = random_tensor({11, 5}, rng);
  expect_close(ops::moe_combine(ops::moe_dispatch(x, r), Tensor::full({11, 1}, 1.0, DType::F64), r), x.to_doubles(),
               0, 0);
}

TEST(MoeOps, Float32FollowsFloat64) {
  Rng rng(11);
  const Tensor probs = ops::softmax(random_tensor({23, 5}, rng));
  const ExpertRouting r64 = ops::route_experts(probs, 2, 7), r32 = ops::route_experts(probs.to(DType::F32), 2, 7);
  EXPECT_EQ(ints(r32.source), ints(r64.source));
  const Tensor x = random_tensor({23, 6}, rng), y = random_tensor({5, 7, 6}, rng);
  const Tensor gates = ops::routing_gates(probs, r64);
  expect_close(ops::moe_dispatch(x.to(DType::F32), r32), ops::moe_dispatch(x, r64).to_doubles(), 1e-7, 0);
  expect_close(ops::moe_combine(y.to(DType::F32), gates.to(DType::F32), r32),
               ops::moe_combine(y, gates, r64).to_doubles(), 1e-6, 1e-7);
}

// (T, E, k, C, D): T not a multiple of E, buffers too small (drops), top_k 1 and 2, E = 1, T = 1, all kept.
using Case = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>;
const std::vector<Case> kCases = {{7, 3, 2, 2, 3}, {10, 4, 1, 2, 5}, {5, 1, 1, 3, 2},
                                  {1, 4, 2, 1, 3}, {9, 4, 2, 9, 4}, {13, 5, 2, 3, 1}};

std::string describe(const Case& c) {
  const auto& [T, E, k, C, D] = c;
  return "T " + std::to_string(T) + " E " + std::to_string(E) + " k " + std::to_string(k) + " C " +
         std::to_string(C) + " D " + std::to_string(D);
}

TEST(MoeGates, GradcheckThroughSoftmax) {
  // The router's gradient through the gate values; the routing is piecewise constant, so it is fixed.
  Rng rng(12);
  for (const Case& c : kCases) {
    SCOPED_TRACE(describe(c));
    const auto& [T, E, k, C, D] = c;
    Tensor logits = random_leaf({T, E}, rng, -2, 2);
    const ExpertRouting r = ops::route_experts(ops::softmax(logits.detach()), k, C);
    expect_gradcheck([&r](const std::vector<Tensor>& in) { return ops::routing_gates(ops::softmax(in[0]), r); },
                     {logits}, 1e-8);
  }
}

TEST(MoeDispatch, Gradcheck) {
  Rng rng(13);
  for (const Case& c : kCases) {
    SCOPED_TRACE(describe(c));
    const auto& [T, E, k, C, D] = c;
    const ExpertRouting r = ops::route_experts(ops::softmax(random_tensor({T, E}, rng)), k, C);
    expect_gradcheck([&r](const std::vector<Tensor>& in) { return ops::moe_dispatch(in[0], r); },
                     {random_leaf({T, D}, rng)}, 1e-8);
  }
}

TEST(MoeCombine, GradcheckInBothInputs) {
  Rng rng(14);
  for (const Case& c : kCases) {
    SCOPED_TRACE(describe(c));
    const auto& [T, E, k, C, D] = c;
    const ExpertRouting r = ops::route_experts(ops::softmax(random_tensor({T, E}, rng)), k, C);
    expect_gradcheck([&r](const std::vector<Tensor>& in) { return ops::moe_combine(in[0], in[1], r); },
                     {random_leaf({E, C, D}, rng), random_leaf({T, k}, rng)}, 1e-8);
  }
}

TEST(MoeCombine, GradientOfOneInputAlone) {
  Rng rng(15);
  const ExpertRouting r = ops::route_experts(hand_probs(), 2, 2);
  Tensor y = random_leaf({4, 2, 3}, rng);
  const Tensor gates = random_tensor({5, 2}, rng), w = random_tensor({5, 3}, rng);
  backward(ops::sum(ops::mul(ops::moe_combine(y, gates, r), w)));
  // dL/dy[e, s] = gates[source] * w[source / k], zero for empty rows: dispatch of w scaled by the gates.
  const std::vector<double> g = gates.to_doubles(), source = ints(r.source);
  std::vector<double> want = dispatch_reference(w.to_doubles(), r, 3);
  for (size_t row = 0; row < source.size(); ++row)
    for (int64_t j = 0; j < 3; ++j) want[row * 3 + j] *= source[row] >= 0 ? g[int64_t(source[row])] : 0.0;
  expect_close(y.grad(), want, 1e-15, 1e-15);
}

TEST(MoeLayer, GradcheckOfAWholeSwitchLayer) {
  // out = combine(experts(dispatch(x)), gates(softmax(x W_router))): the gradient reaches x along both paths,
  // the router and each expert's weights.
  Rng rng(16);
  for (const auto& [T, E, k, C, D] : std::vector<Case>{{9, 3, 1, 3, 4}, {7, 4, 2, 3, 3}}) {
    Tensor x = random_leaf({T, D}, rng), router = random_leaf({D, E}, rng), experts = random_leaf({E, D, D}, rng);
    const ExpertRouting r = ops::route_experts(ops::softmax(ops::matmul(x.detach(), router.detach())), k, C);
    expect_gradcheck(
        [&r](const std::vector<Tensor>& in) {
          const Tensor gates = ops::routing_gates(ops::softmax(ops::matmul(in[0], in[1])), r);
          return ops::moe_combine(ops::matmul(ops::moe_dispatch(in[0], r), in[2]), gates, r);
        },
        {x, router, experts}, 1e-8);
  }
}

TEST(MoeOps, Errors) {
  Rng rng(17);
  const ExpertRouting r = ops::route_experts(hand_probs(), 2, 2);
  const std::string gates_shape = error_text([&] { ops::routing_gates(random_tensor({5, 3}, rng), r); });
  EXPECT_TRUE(mentions(gates_shape, "routing_gates: probs has shape [5, 3], expected [5, 4]"));
  const std::string x_shape = error_text([&] { ops::moe_dispatch(random_tensor({4, 3}, rng), r); });
  EXPECT_TRUE(mentions(x_shape, "moe_dispatch: x must be (tokens = 5"));
  EXPECT_TRUE(mentions(x_shape, "f64[4, 3]"));
  const std::string y_shape = error_text([&] { ops::moe_combine(random_tensor({4, 3, 2}, rng), random_tensor({5, 2}, rng), r); });
  EXPECT_TRUE(mentions(y_shape, "moe_combine: y must be (experts = 4, capacity = 2"));
  EXPECT_TRUE(mentions(error_text([&] { ops::moe_combine(random_tensor({4, 2, 3}, rng), random_tensor({5, 1}, rng), r); }),
                       "moe_combine: gates has shape [5, 1], expected [5, 2]"));
  EXPECT_TRUE(mentions(error_text([&] {
                         ops::moe_combine(random_tensor({4, 2, 3}, rng), random_tensor({5, 2}, rng, -1, 1, DType::F32), r);
                       }),
                       "moe_combine: inputs disagree"));
  EXPECT_TRUE(mentions(error_text([&] { ops::moe_dispatch(random_tensor({5, 3}, rng), ExpertRouting{}); }),
                       "moe_dispatch: the routing is empty"));
}

}  // namespace
}  // namespace krait
