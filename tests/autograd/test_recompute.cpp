// ops::recompute: the same gradients as the plain computation, an empty tape afterwards, a nested
// tape that leaves the outer one alone, parameters reported final only after the recompute node, and
// an error for a tensor fn uses without listing it.
#include <gtest/gtest.h>

#include <string>

#include "autograd/ops.h"
#include "common/error.h"
#include "tests/support/gradcheck.h"

namespace krait {
namespace {

// A small layer, silu(x W^T) * b: a few ops, so that the nested tape holds several nodes.
struct Layer {
  Parameter w, b;
  Tensor operator()(const Tensor& x) const { return ops::mul(ops::silu(ops::matmul(x, w.value, false, true)), b.value); }
  ParameterList params() const { return {w, b}; }
};

Layer make_layer(Rng& rng, const std::string& name) {
  return {{name + ".w", testing::random_leaf({3, 3}, rng), {}}, {name + ".b", testing::random_leaf({3}, rng), {}}};
}

// loss = sum(layer2(layer1(x)) * x): x is used both inside the recomputed layer and after it.
Tensor loss_of(const Tensor& x, const Layer& l1, const Layer& l2, bool recompute) {
  auto run = [&](const Layer& l, const Tensor& in) {
    return recompute ? ops::recompute([l](const Tensor& t) { return l(t); }, in, l.params()) : l(in);
  };
  return ops::sum(ops::mul(run(l2, run(l1, x)), x));
}

void clear_grads(const std::vector<Tensor>& leaves) {
  for (const Tensor& t : leaves) t.zero_grad();
}

TEST(Recompute, SameGradientsAsThePlainComputation) {
  Rng rng(3);
  const Layer l1 = make_layer(rng, "l1"), l2 = make_layer(rng, "l2");
  Tensor x = testing::random_leaf({2, 3}, rng);
  const std::vector<Tensor> leaves{x, l1.w.value, l1.b.value, l2.w.value, l2.b.value};

  const Tensor plain = loss_of(x, l1, l2, false);
  backward(plain);
  std::vector<std::vector<double>> want;
  for (const Tensor& t : leaves) want.push_back(t.grad().to_doubles());
  clear_grads(leaves);

  const Tensor recomputed = loss_of(x, l1, l2, true);
  EXPECT_EQ(tape_size(), 4u);  // two recompute nodes, mul, sum: the layers' own ops are not recorded
  backward(recomputed);
  EXPECT_EQ(tape_size(), 0u);
  EXPECT_EQ(recomputed.item(), plain.item());
  for (size_t i = 0; i < leaves.size(); ++i) EXPECT_EQ(leaves[i].grad().to_doubles(), want[i]) << "leaf " << i;
}

TEST(Recompute, GradientCheck) {
  Rng rng(5);
  const Layer l1 = make_layer(rng, "l1");
  testing::expect_gradcheck(
      [](const std::vector<Tensor>& in) {
        const Layer l{{"w", in[1], {}}, {"b", in[2], {}}};
        return ops::recompute([l](const Tensor& t) { return l(t); }, in[0], l.params());
      },
      {testing::random_leaf({2, 3}, rng), l1.w.value, l1.b.value});
}

// Nothing requires grad, or grad mode is off: fn runs once and nothing is recorded.
TEST(Recompute, PlainCallWhereNothingIsRecorded) {
  Rng rng(7);
  const Layer l = make_layer(rng, "l");
  NoGradGuard no_grad;
  const Tensor y = ops::recompute([l](const Tensor& t) { return l(t); }, testing::random_tensor({2, 3}, rng), l.params());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(tape_size(), 0u);
}

// The nested backward runs inside the outer one: the outer nodes recorded before and after the
// recompute node all still run, and the tape is empty at the end.
TEST(Recompute, NestedTapeLeavesTheOuterTapeAlone) {
  Rng rng(9);
  const Layer l = make_layer(rng, "l");
  Tensor x = testing::random_leaf({2, 3}, rng);
  Tensor c = testing::random_leaf({2, 3}, rng);
  const Tensor before = ops::exp(ops::mul(x, c));  // outer nodes below the recompute node
  const Tensor y = ops::recompute([l](const Tensor& t) { return l(t); }, before, l.params());
  const Tensor loss = ops::sum(ops::add(ops::mul(y, c), before));
  const size_t outer_nodes = tape_size();
  EXPECT_EQ(outer_nodes, 6u);  // mul, exp, recompute, mul, add, sum
  backward(loss);
  EXPECT_EQ(tape_size(), 0u);
  ASSERT_TRUE(x.grad().defined());
  ASSERT_TRUE(c.grad().defined());
  const std::vector<double> gx = x.grad().to_doubles(), gc = c.grad().to_doubles();
  for (const Tensor& t : {x, c, l.w.value, l.b.value}) t.zero_grad();

  const Tensor plain_before = ops::exp(ops::mul(x, c));
  backward(ops::sum(ops::add(ops::mul(l(plain_before), c), plain_before)));
  EXPECT_EQ(x.grad().to_doubles(), gx);
  EXPECT_EQ(c.grad().to_doubles(), gc);
}

// A recompute node lists its parameters as inputs, so a LeafGradientHook reports them once, after the
// node has run (their gradients complete), and never from inside the nested backward.
TEST(Recompute, LeafGradientHookSeesParametersFinalAfterTheNode) {
  Rng rng(11);
  const Layer l1 = make_layer(rng, "l1"), l2 = make_layer(rng, "l2");
  Tensor x = testing::random_leaf({2, 3}, rng);
  const std::vector<Tensor> leaves{x, l1.w.value, l1.b.value, l2.w.value, l2.b.value};
  backward(loss_of(x, l1, l2, false));
  std::vector<std::vector<double>> want;
  for (const Tensor& t : leaves) want.push_back(t.grad().to_doubles());
  clear_grads(leaves);

  std::vector<std::pair<const GradSlot*, std::vector<double>>> seen;
  {
    LeafGradientHook hook([&](const GradSlot& slot) { seen.emplace_back(&slot, slot.grad.to_doubles()); });
    backward(loss_of(x, l1, l2, true));
  }
  // Layer 2's node runs first (its parameters final), then layer 1's (its parameters; x is used by the
  // final mul too, but layer 1's node is its lowest one, so x is final with it).
  ASSERT_EQ(seen.size(), 5u);
  const std::vector<size_t> order{3, 4, 0, 1, 2};
  for (size_t k = 0; k < order.size(); ++k) {
    EXPECT_EQ(seen[k].first, leaves[order[k]].grad_slot().get()) << "report " << k;
    EXPECT_EQ(seen[k].second, want[order[k]]) << "report " << k;
  }
}

TEST(Recompute, UnlistedTensorThatRequiresGradIsAnError) {
  Rng rng(13);
  const Layer l = make_layer(rng, "l");
  Tensor x = testing::random_leaf({2, 3}, rng);
  const Tensor y = ops::recompute([l](const Tensor& t) { return l(t); }, x, {l.w});  // l.b missing
  try {
    backward(ops::sum(y));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("recompute: the recomputed function used a tensor"), std::string::npos) << e.what();
  }
  EXPECT_EQ(tape_size(), 0u);
  // The outer grad mode and tape are back after the error.
  EXPECT_TRUE(grad_enabled());
}

}  // namespace
}  // namespace krait
