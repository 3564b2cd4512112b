// The tape: recording, gradient accumulation into leaves, NoGradGuard, clearing, and errors.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "common/error.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {

TEST(Tape, ChainRuleThroughSharedInput) {
  // L = sum(x * x + x) -> dL/dx = 2x + 1; x is used twice, so its gradient accumulates.
  Tensor x = Tensor::from_vector({1, -2, 0.5}, {3}, DType::F64).set_requires_grad(true);
  backward(ops::sum(ops::add(ops::mul(x, x), x)));
  testing::expect_close(x.grad(), std::vector<double>{3, -3, 2}, 0, 1e-15);
  EXPECT_EQ(tape_size(), 0u);
}

// The hook sees each leaf once, when its gradient is final: `a` feeds the first and the last op, so
// it is final only at the end; `b` feeds only the last op (run first), so it is final at once.
TEST(Tape, LeafGradientHookFiresOnceWhenAGradientIsFinal) {
  Tensor a = Tensor::from_vector({1, 2}, {2}, DType::F64).set_requires_grad(true);
  Tensor b = Tensor::from_vector({3, 4}, {2}, DType::F64).set_requires_grad(true);
  Tensor unused = Tensor::from_vector({5}, {1}, DType::F64).set_requires_grad(true);
  const Tensor h = ops::mul(a, a);                              // node 0: a
  const Tensor loss = ops::sum(ops::add(ops::mul(h, b), a));   // nodes: mul(h, b), add(., a), sum
  std::vector<std::pair<const GradSlot*, std::vector<double>>> seen;
  {
    LeafGradientHook hook([&](const GradSlot& slot) { seen.emplace_back(&slot, slot.grad.to_doubles()); });
    backward(loss);
  }
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, b.grad_slot().get());
  EXPECT_EQ(seen[0].second, (std::vector<double>{1, 4}));  // h = a^2
  EXPECT_EQ(seen[1].first, a.grad_slot().get());
  EXPECT_EQ(seen[1].second, (std::vector<double>{2 * 1 * 3 + 1, 2 * 2 * 4 + 1}));  // 2ab + 1, complete
  EXPECT_FALSE(unused.grad().defined());
  // Gone with its guard: the next backward calls nothing.
  backward(ops::sum(ops::mul(a, b)));
  EXPECT_EQ(seen.size(), 2u);
}

TEST(Tape, GradientsAccumulateAcrossBackwardCalls) {
  Tensor w = Tensor::from_vector({2, 3}, {2}, DType::F64).set_requires_grad(true);
  Tensor x = Tensor::from_vector({1, 1}, {2}, DType::F64);
  backward(ops::sum(ops::mul(x, w)));
  backward(ops::sum(ops::mul(x, w)));
  testing::expect_close(w.grad(), std::vector<double>{2, 2}, 0, 0);
  w.zero_grad();
  EXPECT_FALSE(w.grad().defined());
}

TEST(Tape, NoGradGuardRecordsNothing) {
  Tensor w = Tensor::from_vector({2}, {1}, DType::F64).set_requires_grad(true);
  {
    NoGradGuard guard;
    Tensor y = ops::mul(w, w);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(tape_size(), 0u);
  }
  Tensor y = ops::mul(w, w);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(tape_size(), 1u);
  clear_tape();
}

TEST(Tape, BackwardOfNonScalarNeedsSeed) {
  Tensor w = Tensor::from_vector({1, 2}, {2}, DType::F64).set_requires_grad(true);
  Tensor y = ops::scale(w, 3.0);
  EXPECT_THROW(backward(y), Error);
  EXPECT_EQ(tape_size(), 0u) << "a failed backward still clears the tape";
  y = ops::scale(w, 3.0);
  backward(y, Tensor::from_vector({1, 10}, {2}, DType::F64));
  testing::expect_close(w.grad(), std::vector<double>{3, 30}, 0, 0);
}

TEST(Tape, LeafGradientIsNotAliased) {
  // add's backward hands the same gradient to both inputs; each leaf must own its copy.
  Tensor a = Tensor::from_vector({1}, {1}, DType::F64).set_requires_grad(true);
  Tensor b = Tensor::from_vector({1}, {1}, DType::F64).set_requires_grad(true);
  backward(ops::sum(ops::add(a, b)));
  EXPECT_FALSE(a.grad().same_storage(b.grad()));
}

// Several roots at once: their seeds meet where the roots share an input; a root that needs no
// gradient, or has no seed, is skipped.
TEST(Tape, BackwardFromSeveralRoots) {
  Tensor x = Tensor::from_vector({1, 2}, {2}, DType::F64).set_requires_grad(true);
  const Tensor constant = Tensor::from_vector({7, 7}, {2}, DType::F64);
  const Tensor a = ops::scale(x, 2.0), b = ops::mul(x, x), c = ops::scale(x, 5.0);
  backward(TensorList{a, b, constant, c}, TensorList{Tensor::from_vector({1, 10}, {2}, DType::F64),
                                 Tensor::from_vector({3, 1}, {2}, DType::F64), Tensor::zeros({2}, DType::F64), Tensor()});
  testing::expect_close(x.grad(), std::vector<double>{2 * 1 + 2 * 1 * 3, 2 * 10 + 2 * 2 * 1}, 0, 0);
  EXPECT_EQ(tape_size(), 0u);
}

TEST(Tape, BackwardFromSeveralRootsNeedsOneSeeded) {
  Tensor x = Tensor::from_vector({1}, {1}, DType::F64).set_requires_grad(true);
  const Tensor a = ops::scale(x, 2.0);
  EXPECT_THROW(backward(TensorList{a}, TensorList{Tensor()}), Error);
  EXPECT_EQ(tape_size(), 0u);
  const Tensor b = ops::scale(x, 2.0);
  EXPECT_THROW(backward(TensorList{b}, TensorList{Tensor::zeros({2}, DType::F64)}), Error);  // not the root's shape
  EXPECT_THROW(backward(TensorList{b, b}, TensorList{Tensor()}), Error);  // one seed for two roots
}

TEST(Tape, BackwardWithoutGradIsAnError) {
  Tensor x = Tensor::from_vector({1}, {1}, DType::F64);
  EXPECT_THROW(backward(ops::sum(x)), Error);
}

}  // namespace
}  // namespace krait

namespace krait {
namespace {

// The gradient check itself must catch a wrong backward: here y = x^2 with a backward of x.
TEST(Gradcheck, DetectsAWrongBackward) {
  auto square_with_wrong_backward = [](const std::vector<Tensor>& in) {
    const Tensor x = in[0];
    Tensor y = ops::mul(x.detach(), x.detach());
    if (needs_record({x})) record("wrong_square", {x}, y, [x](const Tensor& g) -> TensorList {
      return {ops::mul(g, x.detach())};
    });
    return y;
  };
  Rng rng(3);
  const Tensor x = testing::random_tensor({5}, rng, 0.5, 1.5).set_requires_grad(true);
  EXPECT_GT(testing::gradcheck(square_with_wrong_backward, {x}).worst(), 0.1);
}

}  // namespace
}  // namespace krait
