// The neural-network ops: embedding, rms_norm, causal_conv1d and cross_entropy. Forward values worked
// out by hand and against brute-force loops, float64 gradient checks at awkward sizes, f32 against
// f64, and errors that name the op and the offending tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "autograd/ops.h"
#include "common/error.h"
#include "tests/support/error_text.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {
using testing::expect_close;
using testing::expect_error;
using testing::expect_gradcheck;
using testing::random_leaf;
using testing::random_tensor;


Tensor random_ids(const Shape& shape, int64_t limit, Rng& rng, DType dtype = DType::I64) {
  std::vector<int64_t> ids(shape_numel(shape));
  for (int64_t& id : ids) id = static_cast<int64_t>(rng.below(limit));
  return Tensor::from_indices(ids, shape, dtype);
}

// ---- embedding ----

TEST(Embedding, ForwardGathersRows) {
  const Tensor weight = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2}, DType::F64);
  const Tensor ids = Tensor::from_indices({2, 0, 1, 2}, {2, 2}, DType::I32);
  const Tensor out = ops::embedding(weight, ids);
  EXPECT_EQ(out.shape(), (Shape{2, 2, 2}));
  expect_close(out, {5, 6, 1, 2, 3, 4, 5, 6}, 0, 0);
}

TEST(Embedding, BackwardScatterAddsRepeatedIds) {
  // ids {1, 3, 1}: row 1 receives the first and third output gradients, row 3 the second, rows 0
  // and 2 nothing.
  Tensor weight = Tensor::zeros({4, 2}, DType::F64).set_requires_grad(true);
  const Tensor ids = Tensor::from_indices({1, 3, 1}, {3});
  backward(ops::embedding(weight, ids), Tensor::from_vector({1, 2, 10, 20, 100, 200}, {3, 2}, DType::F64));
  expect_close(weight.grad(), {0, 0, 101, 202, 0, 0, 10, 20}, 0, 0);
}

TEST(Embedding, LargeBackwardMatchesBruteForce) {
  // Big enough that the backward splits its columns over threads.
  Rng rng(13);
  const int64_t V = 301, D = 64, n = 2000;
  Tensor weight = Tensor::zeros({V, D}, DType::F64).set_requires_grad(true);
  const Tensor ids = random_ids({n}, V, rng);
  const Tensor g = random_tensor({n, D}, rng);
  backward(ops::embedding(weight, ids), g);
  const std::vector<double> idv = ids.to_doubles(), gv = g.to_doubles();
  std::vector<double> expected(V * D, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < D; ++c) expected[int64_t(idv[i]) * D + c] += gv[i * D + c];
  expect_close(weight.grad(), expected, 0, 0);
}

TEST(Embedding, Gradcheck) {
  Rng rng(11);
  for (const DType id_type : {DType::I32, DType::I64}) {
    const Tensor ids = random_ids({3, 4}, 5, rng, id_type);  // 12 lookups into 5 rows: ids repeat
    expect_gradcheck([&](const std::vector<Tensor>& in) { return ops::embedding(in[0], ids); },
                     {random_leaf({5, 3}, rng)});
  }
  const Tensor one = Tensor::from_indices({6}, {1});
  expect_gradcheck([&](const std::vector<Tensor>& in) { return ops::embedding(in[0], one); }, {random_leaf({7, 1}, rng)});
}

TEST(Embedding, F32MatchesF64) {
  Rng rng(12);
  const Tensor weight = random_tensor({9, 6}, rng);
  const Tensor ids = random_ids({2, 5}, 9, rng);
  expect_close(ops::embedding(weight.to(DType::F32), ids), ops::embedding(weight, ids), 1e-7, 1e-7);
}

TEST(Embedding, Errors) {
  const Tensor weight = Tensor::zeros({5, 2}, DType::F64);
  expect_error([&] { ops::embedding(weight, Tensor::from_indices({0, 1, 2, 5}, {2, 2})); },
               {"embedding", "id 5", "position [1, 1]", "[0, 5)"});
  expect_error([&] { ops::embedding(weight, Tensor::from_indices({-1}, {1}, DType::I32)); },
               {"embedding", "id -1", "position [0]"});
  expect_error([&] { ops::embedding(weight, Tensor::zeros({3}, DType::F32)); }, {"embedding", "ids", "f32[3]"});
  expect_error([&] { ops::embedding(Tensor::zeros({10}, DType::F64), Tensor::from_indices({0}, {1})); },
               {"embedding", "weight", "f64[10]"});
  expect_error([&] { ops::embedding(Tensor::zeros({5, 2}, DType::I64), Tensor::from_indices({0}, {1})); },
               {"embedding", "i64[5, 2]"});
}

// ---- rms_norm ----

// y = x / sqrt(mean(x^2) + eps) * weight, one row at a time.
std::vector<double> rms_norm_reference(const Tensor& x, const Tensor& weight, double eps) {
  const std::vector<double> xv = x.to_doubles(), wv = weight.to_doubles();
  const size_t dim = wv.size();
  std::vector<double> y(xv.size());
  for (size_t r = 0; r < xv.size() / dim; ++r) {
    double squares = 0;
    for (size_t i = 0; i < dim; ++i) squares += xv[r * dim + i] * xv[r * dim + i];
    const double rstd = 1 / std::sqrt(squares / double(dim) + eps);
    for (size_t i = 0; i < dim; ++i) y[r * dim + i] = xv[r * dim + i] * rstd * wv[i];
  }
  return y;
}

TEST(RmsNorm, ForwardByHand) {
  // Row 0: mean(9, 1, 1, 1) = 3, + eps 1 = 4, rstd = 1/2: y = x / 2 * w = (1.5, -1, -0.5, 0.25).
  // Row 1 is zero and stays zero (eps keeps rstd finite).
  const Tensor x = Tensor::from_vector({3, -1, 1, 1, 0, 0, 0, 0}, {2, 4}, DType::F64);
  const Tensor w = Tensor::from_vector({1, 2, -1, 0.5}, {4}, DType::F64);
  expect_close(ops::rms_norm(x, w, 1.0), {1.5, -1, -0.5, 0.25, 0, 0, 0, 0}, 1e-15, 0);
}

TEST(RmsNorm, ForwardMatchesBruteForce) {
  Rng rng(21);
  const Tensor x = random_tensor({3, 5, 7}, rng, -2, 2), w = random_tensor({7}, rng);
  const Tensor y = ops::rms_norm(x, w, 1e-5);
  EXPECT_EQ(y.shape(), x.shape());
  expect_close(y, rms_norm_reference(x, w, 1e-5), 1e-13, 1e-14);
}

TEST(RmsNorm, Gradcheck) {
  Rng rng(22);
  const auto f = [](const std::vector<Tensor>& in) { return ops::rms_norm(in[0], in[1], 1e-5); };
  expect_gradcheck(f, {random_leaf({2, 3, 5}, rng), random_leaf({5}, rng)});
  expect_gradcheck(f, {random_leaf({7}, rng), random_leaf({7}, rng)});        // one row
  expect_gradcheck(f, {random_leaf({3, 1}, rng), random_leaf({1}, rng)});     // D = 1
  expect_gradcheck(f, {random_tensor({4, 3}, rng), random_leaf({3}, rng)});  // weight only
  expect_gradcheck(f, {random_leaf({4, 3}, rng), random_tensor({3}, rng)});  // x only
}

// The fused residual add: h = residual + x, y = rms_norm(h); both outputs are values of the plain ops,
// and a function of both (h feeds the next residual add, y the next layer) has their gradients.
TEST(AddRmsNorm, MatchesTheComposition) {
  Rng rng(24);
  const Tensor x = random_tensor({2, 3, 5}, rng), r = random_tensor({2, 3, 5}, rng), w = random_tensor({5}, rng);
  const TensorList hy = ops::add_rms_norm(x, r, w, 1e-5, DType::F64);
  const Tensor h = ops::add(r, x);
  expect_close(hy[0], h.to_doubles(), 1e-15, 0);
  expect_close(hy[1], ops::rms_norm(h, w, 1e-5).to_doubles(), 1e-15, 0);
  const auto f = [](const std::vector<Tensor>& in) {
    const TensorList out = ops::add_rms_norm(in[0], in[1], in[2], 1e-5, DType::F64);
    return ops::add(ops::scale(out[0], 0.5), out[1]);
  };
  expect_gradcheck(f, {random_leaf({2, 3, 5}, rng), random_leaf({2, 3, 5}, rng), random_leaf({5}, rng)});
}

TEST(RmsNorm, F32MatchesF64) {
  Rng rng(23);
  const Tensor x = random_tensor({6, 33}, rng, -3, 3), w = random_tensor({33}, rng);
  expect_close(ops::rms_norm(x.to(DType::F32), w.to(DType::F32), 1e-6), ops::rms_norm(x, w, 1e-6), 1e-5, 1e-6);
}

TEST(RmsNorm, Errors) {
  const Tensor x = Tensor::zeros({2, 4}, DType::F64);
  expect_error([&] { ops::rms_norm(x, Tensor::zeros({3}, DType::F64), 1e-5); }, {"rms_norm", "weight", "[3]", "[4]"});
  expect_error([&] { ops::rms_norm(x, Tensor::zeros({4}, DType::F32), 1e-5); }, {"rms_norm", "f32[4]", "f64[2, 4]"});
  expect_error([&] { ops::rms_norm(Tensor::zeros({4}, DType::I32), Tensor::zeros({4}, DType::I32), 1e-5); },
               {"rms_norm", "i32[4]"});
  expect_error([&] { ops::rms_norm(Tensor::zeros({2, 0}, DType::F64), Tensor::zeros({0}, DType::F64), 1e-5); },
               {"rms_norm", "f64[2, 0]"});
}

// ---- causal_conv1d ----

// The PyTorch definition: conv1d with groups = D over x padded by K - 1 zeros on both sides, keeping
// the first L outputs.
std::vector<double> conv_reference(const Tensor& x, const Tensor& w, const Tensor& bias) {
  const int64_t B = x.size(0), D = x.size(1), L = x.size(2), K = w.size(1);
  const std::vector<double> xv = x.to_doubles(), wv = w.to_doubles();
  const std::vector<double> bv = bias.defined() ? bias.to_doubles() : std::vector<double>(D, 0.0);
  std::vector<double> out(B * D * L);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t d = 0; d < D; ++d) {
      std::vector<double> padded(L + 2 * (K - 1), 0.0);
      for (int64_t t = 0; t < L; ++t) padded[K - 1 + t] = xv[(b * D + d) * L + t];
      for (int64_t t = 0; t < L; ++t) {
        double acc = bv[d];
        for (int64_t k = 0; k < K; ++k) acc += wv[d * K + k] * padded[t + k];
        out[(b * D + d) * L + t] = acc;
      }
    }
  return out;
}

TEST(ConvCausal, ForwardByHand) {
  // K = 2: out[t] = bias + w[0] x[t-1] + w[1] x[t].
  // Channel 0: x (1, 2, 3), w (10, 1), bias 0.5 -> (1 + .5, 10 + 2 + .5, 20 + 3 + .5).
  // Channel 1: x (4, 5, 6), w (-1, 2), bias 0   -> (8, -4 + 10, -5 + 12).
  const Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {1, 2, 3}, DType::F64);
  const Tensor w = Tensor::from_vector({10, 1, -1, 2}, {2, 2}, DType::F64);
  const Tensor bias = Tensor::from_vector({0.5, 0}, {2}, DType::F64);
  expect_close(ops::causal_conv1d(x, w, bias), {1.5, 12.5, 23.5, 8, 6, 7}, 0, 0);
  expect_close(ops::causal_conv1d(x, w), {1, 12, 23, 8, 6, 7}, 0, 0);
}

TEST(ConvCausal, ForwardMatchesBruteForce) {
  Rng rng(31);
  for (const int64_t K : {1, 4, 9}) {  // 9 > L
    const Tensor x = random_tensor({2, 3, 7}, rng), w = random_tensor({3, K}, rng), b = random_tensor({3}, rng);
    expect_close(ops::causal_conv1d(x, w, b), conv_reference(x, w, b), 1e-14, 1e-14);
    expect_close(ops::causal_conv1d(x, w), conv_reference(x, w, Tensor()), 1e-14, 1e-14);
  }
}

TEST(ConvCausal, Gradcheck) {
  Rng rng(32);
  const auto with_bias = [](const std::vector<Tensor>& in) { return ops::causal_conv1d(in[0], in[1], in[2]); };
  const auto no_bias = [](const std::vector<Tensor>& in) { return ops::causal_conv1d(in[0], in[1]); };
  expect_gradcheck(with_bias, {random_leaf({2, 3, 5}, rng), random_leaf({3, 4}, rng), random_leaf({3}, rng)});  // K = 4, L = 5
  expect_gradcheck(with_bias, {random_leaf({2, 3, 6}, rng), random_leaf({3, 1}, rng), random_leaf({3}, rng)});  // K = 1
  expect_gradcheck(with_bias, {random_leaf({1, 2, 2}, rng), random_leaf({2, 4}, rng), random_leaf({2}, rng)});  // K > L
  expect_gradcheck(no_bias, {random_leaf({3, 2, 1}, rng), random_leaf({2, 3}, rng)});                    // L = 1
  expect_gradcheck(no_bias, {random_tensor({2, 3, 5}, rng), random_leaf({3, 4}, rng)});           // weight only
  expect_gradcheck(no_bias, {random_leaf({2, 3, 5}, rng), random_tensor({3, 4}, rng)});           // x only
}

// With the fused SiLU: the plain conv followed by silu, in value and in gradient.
TEST(ConvCausal, FusedSiluIsConvThenSilu) {
  Rng rng(34);
  for (const bool bias : {true, false}) {
    const Tensor x = random_tensor({2, 3, 7}, rng), w = random_tensor({3, 4}, rng);
    const Tensor b = bias ? random_tensor({3}, rng) : Tensor();
    expect_close(ops::causal_conv1d(x, w, b, true), ops::silu(ops::causal_conv1d(x, w, b)), 1e-15, 1e-15);
  }
  const auto fused = [](const std::vector<Tensor>& in) { return ops::causal_conv1d(in[0], in[1], in[2], true); };
  const auto fused_no_bias = [](const std::vector<Tensor>& in) { return ops::causal_conv1d(in[0], in[1], Tensor(), true); };
  expect_gradcheck(fused, {random_leaf({2, 3, 5}, rng), random_leaf({3, 4}, rng), random_leaf({3}, rng)});
  expect_gradcheck(fused, {random_leaf({1, 2, 1}, rng), random_leaf({2, 4}, rng), random_leaf({2}, rng)});  // L = 1
  expect_gradcheck(fused, {random_tensor({2, 3, 5}, rng), random_tensor({3, 4}, rng), random_leaf({3}, rng)});  // bias only
  expect_gradcheck(fused_no_bias, {random_leaf({2, 3, 6}, rng), random_leaf({3, 2}, rng)});
}

TEST(ConvCausal, F32MatchesF64) {
  Rng rng(33);
  const Tensor x = random_tensor({2, 5, 19}, rng), w = random_tensor({5, 4}, rng), b = random_tensor({5}, rng);
  expect_close(ops::causal_conv1d(x.to(DType::F32), w.to(DType::F32), b.to(DType::F32)), ops::causal_conv1d(x, w, b),
               1e-5, 1e-6);
}

TEST(ConvCausal, Errors) {
  const Tensor x = Tensor::zeros({2, 3, 5}, DType::F64), w = Tensor::zeros({3, 4}, DType::F64);
  expect_error([&] { ops::causal_conv1d(Tensor::zeros({3, 5}, DType::F64), w); }, {"causal_conv1d", "x", "f64[3, 5]"});
  expect_error([&] { ops::causal_conv1d(x, Tensor::zeros({2, 4}, DType::F64)); },
               {"causal_conv1d", "weight", "[2, 4]", "[3, 4]"});
  expect_error([&] { ops::causal_conv1d(x, w, Tensor::zeros({4}, DType::F64)); }, {"causal_conv1d", "bias", "[4]"});
  expect_error([&] { ops::causal_conv1d(x, Tensor::zeros({3, 4}, DType::F32)); }, {"causal_conv1d", "f32[3, 4]"});
  expect_error([&] { ops::causal_conv1d(x, Tensor::zeros({3, 0}, DType::F64)); }, {"causal_conv1d", "f64[3, 0]"});
}

// ---- cross_entropy ----

constexpr int64_t kIgnore = -100;

// Naive per-row loss log(sum exp(row)) - row[target] (no max shift: test inputs are small).
double cross_entropy_reference(const Tensor& logits, const std::vector<int64_t>& targets, ops::Reduction reduction) {
  const int64_t V = logits.size(1);
  const std::vector<double> v = logits.to_doubles();
  double total = 0;
  int64_t kept = 0;
  for (size_t r = 0; r < targets.size(); ++r) {
    if (targets[r] == kIgnore) continue;
    double sum = 0;
    for (int64_t c = 0; c < V; ++c) sum += std::exp(v[r * V + c]);
    total += std::log(sum) - v[r * V + targets[r]];
    ++kept;
  }
  return reduction == ops::Reduction::Sum ? total : total / double(kept);
}

TEST(CrossEntropy, ByHandWithHugeLogitsAndAnIgnoredRow) {
  // Row 0: three equal logits of 1000 (exp overflows unless the max is subtracted): loss ln 3.
  // Row 1: logits (ln 2, 0, 0), target 0: lse = ln(2 + 1 + 1) = ln 4, loss = ln 4 - ln 2 = ln 2.
  // Row 2 is ignored. Mean = (ln 3 + ln 2) / 2 = ln 6 / 2.
  // dMean/dlogits = (softmax - onehot) / 2: row 0 (1/3 - 1, 1/3, 1/3) / 2, row 1 (1/2 - 1, 1/4, 1/4) / 2.
  Tensor logits = Tensor::from_vector({1000, 1000, 1000, std::log(2.0), 0, 0, 5, -5, 7}, {3, 3}, DType::F64)
                      .set_requires_grad(true);
  const Tensor targets = Tensor::from_indices({1, 0, kIgnore}, {3});
  const Tensor loss = ops::cross_entropy(logits, targets);
  EXPECT_EQ(loss.shape(), Shape{});
  EXPECT_NEAR(loss.item(), std::log(6.0) / 2, 1e-13);
  backward(loss);
  // lse near 1001 carries an absolute rounding error of ~1e-13, which the softmax inherits.
  expect_close(logits.grad(), {1.0 / 6, -1.0 / 3, 1.0 / 6, -0.25, 0.125, 0.125, 0, 0, 0}, 0, 1e-12);
  EXPECT_NEAR(ops::cross_entropy(logits, targets, kIgnore, ops::Reduction::Sum).item(), std::log(6.0), 1e-13);
  clear_tape();
}

TEST(CrossEntropy, ForwardMatchesBruteForce) {
  Rng rng(41);
  const Tensor logits = random_tensor({6, 11}, rng, -4, 4);
  const std::vector<int64_t> targets{3, kIgnore, 0, 10, 7, kIgnore};
  for (const ops::Reduction reduction : {ops::Reduction::Mean, ops::Reduction::Sum}) {
    const Tensor loss = ops::cross_entropy(logits, Tensor::from_indices(targets, {6}, DType::I32), kIgnore, reduction);
    EXPECT_NEAR(loss.item(), cross_entropy_reference(logits, targets, reduction), 1e-13);
  }
}

TEST(CrossEntropy, Gradcheck) {
  Rng rng(42);
  const Tensor targets = Tensor::from_indices({2, kIgnore, 6, 0, kIgnore}, {5}, DType::I32);  // V = 7
  for (const ops::Reduction reduction : {ops::Reduction::Mean, ops::Reduction::Sum}) {
    const auto f = [&](const std::vector<Tensor>& in) {
      return ops::cross_entropy(in[0], targets, kIgnore, reduction);
    };
    expect_gradcheck(f, {random_leaf({5, 7}, rng, -3, 3)});
  }
  const Tensor one = Tensor::from_indices({0}, {1});  // N = 1, V = 1: the loss is constant 0
  expect_gradcheck([&](const std::vector<Tensor>& in) { return ops::cross_entropy(in[0], one); }, {random_leaf({1, 1}, rng)});
  const Tensor all_ignored = Tensor::from_indices({kIgnore, kIgnore}, {2});
  expect_gradcheck([&](const std::vector<Tensor>& in) { return ops::cross_entropy(in[0], all_ignored); },
                   {random_leaf({2, 3}, rng)});
}

// linear_cross_entropy: the head fused into the loss, the logits made a few rows at a time, with the
// gradients computed in the forward. Against cross_entropy of matmul (the same loss and gradients to
// rounding) at chunk sizes of 1 row, uneven chunks and one chunk, with ignored rows, padded classes and
// both reductions; then the float64 gradient check of both inputs.
TEST(LinearCrossEntropy, MatchesCrossEntropyOfMatmul) {
  Rng rng(47);
  const int64_t rows = 7, d = 5, width = 11, classes = 9;
  const Tensor targets = Tensor::from_indices({2, kIgnore, 8, 0, kIgnore, 5, 1}, {rows}, DType::I32);
  for (const ops::Reduction reduction : {ops::Reduction::Mean, ops::Reduction::Sum})
    for (int64_t chunk : {1, 3, 7, 100}) {
      Tensor h = random_leaf({rows, d}, rng, -2, 2), w = random_leaf({width, d}, rng, -2, 2);
      const Tensor fused = ops::linear_cross_entropy(h, w, targets, kIgnore, reduction, classes, chunk);
      backward(ops::scale(fused, 0.7));
      const std::vector<double> gh = h.grad().to_doubles(), gw = w.grad().to_doubles();
      h.zero_grad(), w.zero_grad();
      const Tensor plain = ops::cross_entropy(ops::matmul(h, w, false, true), targets, kIgnore, reduction, classes);
      backward(ops::scale(plain, 0.7));
      EXPECT_NEAR(fused.item(), plain.item(), 1e-13) << chunk << " rows a chunk";
      expect_close(Tensor::from_vector(gh, {rows, d}, DType::F64), h.grad(), 1e-12, 1e-14);
      expect_close(Tensor::from_vector(gw, {width, d}, DType::F64), w.grad(), 1e-12, 1e-14);
    }
}

TEST(LinearCrossEntropy, Gradcheck) {
  Rng rng(48);
  const Tensor targets = Tensor::from_indices({3, kIgnore, 0, 4, 2}, {5}, DType::I32);
  for (const ops::Reduction reduction : {ops::Reduction::Mean, ops::Reduction::Sum})
    for (int64_t chunk : {2, 5}) {
      const auto f = [&](const std::vector<Tensor>& in) {
        return ops::linear_cross_entropy(in[0], in[1], targets, kIgnore, reduction, 5, chunk);
      };
      expect_gradcheck(f, {random_leaf({5, 3}, rng, -2, 2), random_leaf({6, 3}, rng, -2, 2)});
    }
}

TEST(LinearCrossEntropy, ErrorsNameTheOpAndTensors) {
  Rng rng(49);
  const Tensor h = random_tensor({4, 3}, rng), w = random_tensor({6, 3}, rng);
  const Tensor targets = Tensor::from_indices({0, 1, 2, 3}, {4});
  const auto mean = ops::Reduction::Mean;
  expect_error([&] { ops::linear_cross_entropy(h, random_tensor({6, 2}, rng), targets, kIgnore, mean, 0, 2); },
               {"linear_cross_entropy", "weight", "[6, 2]"});
  expect_error([&] { ops::linear_cross_entropy(h, w, targets, kIgnore, mean, 0, 0); },
               {"linear_cross_entropy", "chunk_rows"});
  expect_error([&] { ops::linear_cross_entropy(h, w, Tensor::from_indices({0, 1, 6, 3}, {4}), kIgnore, mean, 0, 2); },
               {"target 6", "row 2", "hidden"});
}

TEST(CrossEntropy, AllIgnoredGivesZeroLossAndGradient) {
  Rng rng(43);
  Tensor logits = random_leaf({3, 4}, rng);
  const Tensor loss = ops::cross_entropy(logits, Tensor::from_indices({kIgnore, kIgnore, kIgnore}, {3}));
  EXPECT_EQ(loss.item(), 0.0);
  backward(loss);
  expect_close(logits.grad(), std::vector<double>(12, 0.0), 0, 0);
}

TEST(CrossEntropy, CustomIgnoreIndexInsideTheVocabulary) {
  // With ignore_index 0, rows targeting class 0 drop out: only row 1 (target 2) counts.
  Rng rng(44);
  const Tensor logits = random_tensor({3, 4}, rng);
  const double loss = ops::cross_entropy(logits, Tensor::from_indices({0, 2, 0}, {3}), 0).item();
  const std::vector<double> v = logits.to_doubles();
  const double lse = std::log(std::exp(v[4]) + std::exp(v[5]) + std::exp(v[6]) + std::exp(v[7]));
  EXPECT_NEAR(loss, lse - v[6], 1e-14);
}

TEST(CrossEntropy, F32MatchesF64) {
  Rng rng(45);
  const Tensor logits = random_tensor({8, 37}, rng, -20, 20);
  const Tensor targets = random_ids({8}, 37, rng);
  EXPECT_NEAR(ops::cross_entropy(logits.to(DType::F32), targets).item(), ops::cross_entropy(logits, targets).item(),
              1e-5);
}

// A padded vocabulary: with classes = 300 of 304 columns the loss is the 300-column loss exactly, however
// large the padded logits, and the padded columns get a zero gradient; gradients are checked too.
TEST(CrossEntropy, PaddedColumnsAreLeftOut) {
  Rng rng(46);
  const int64_t rows = 6, classes = 300, width = 304;
  Tensor padded = random_tensor({rows, width}, rng, -4, 4);
  std::vector<double> values = padded.to_doubles();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = classes; v < width; ++v) values[r * width + v] = 50.0;  // would dominate a softmax that read them
  padded = Tensor::from_vector(values, {rows, width}, DType::F64);
  padded.set_requires_grad(true);
  Tensor unpadded = ops::slice(padded.detach(), 1, 0, classes);
  unpadded.set_requires_grad(true);
  const Tensor targets = Tensor::from_indices({3, kIgnore, 299, 0, 150, 7}, {rows});
  for (const ops::Reduction reduction : {ops::Reduction::Mean, ops::Reduction::Sum}) {
    const Tensor a = ops::cross_entropy(padded, targets, kIgnore, reduction, classes);
    backward(a);  // each backward runs and clears the tape, so b is recorded after it
    const Tensor b = ops::cross_entropy(unpadded, targets, kIgnore, reduction);
    backward(b);
    EXPECT_EQ(a.item(), b.item());
    const std::vector<double> ga = padded.grad().to_doubles(), gb = unpadded.grad().to_doubles();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < width; ++v)
        ASSERT_EQ(ga[r * width + v], v < classes ? gb[r * classes + v] : 0.0) << "row " << r << " column " << v;
    padded.zero_grad();
    unpadded.zero_grad();
  }
  expect_gradcheck([&](const std::vector<Tensor>& in) { return ops::cross_entropy(in[0], targets, kIgnore,
                                                                                  ops::Reduction::Mean, classes); },
                   {random_leaf({rows, width}, rng, -3, 3)});
  // A target among the padded columns is out of range.
  expect_error([&] { ops::cross_entropy(padded, Tensor::from_indices({0, 0, 0, 0, 0, 301}, {rows}), kIgnore,
                                        ops::Reduction::Mean, classes); },
               {"cross_entropy", "target 301", "row 5", "[0, 300)"});
  expect_error([&] { ops::cross_entropy(padded, targets, kIgnore, ops::Reduction::Mean, 305); },
               {"cross_entropy", "classes = 305"});
}

TEST(CrossEntropy, Errors) {
  const Tensor logits = Tensor::zeros({3, 5}, DType::F64);
  expect_error([&] { ops::cross_entropy(logits, Tensor::from_indices({0, 4, 9}, {3})); },
               {"cross_entropy", "target 9", "row 2", "[0, 5)"});
  expect_error([&] { ops::cross_entropy(logits, Tensor::from_indices({-1, 0, 0}, {3}, DType::I32)); },
               {"cross_entropy", "target -1", "row 0"});
  expect_error([&] { ops::cross_entropy(logits, Tensor::from_indices({0, 1}, {2})); },
               {"cross_entropy", "targets", "[2]", "[3]"});
  expect_error([&] { ops::cross_entropy(logits, Tensor::zeros({3}, DType::F64)); },
               {"cross_entropy", "targets", "f64[3]"});
  expect_error([&] { ops::cross_entropy(Tensor::zeros({5}, DType::F64), Tensor::from_indices({0}, {1})); },
               {"cross_entropy", "logits", "f64[5]"});
}

}  // namespace
}  // namespace krait
