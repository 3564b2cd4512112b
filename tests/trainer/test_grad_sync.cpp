// Gradient buckets: their plan, and GradSync over ranks as threads (the fake communicator): the
// averaged gradients are the same whether buckets are reduced during backward (armed) or after it,
// and equal the gradient of the mean loss over both ranks' data.
#include <gtest/gtest.h>

#include <thread>

#include "autograd/ops.h"
#include "common/error.h"
#include "layers/init.h"
#include "tests/dist/fake_communicator.h"
#include "train/grad_sync.h"

namespace krait::train {
namespace {

ParameterList params_of_sizes(const std::vector<int64_t>& sizes) {
  ParameterList params;
  Rng rng(1);
  for (size_t i = 0; i < sizes.size(); ++i)
    params.push_back(init::uniform("p" + std::to_string(i), {sizes[i]}, {}, rng, 1.0));
  return params;
}

TEST(PlanBuckets, ReverseOrderWholeParametersAndOffsets) {
  const ParameterList params = params_of_sizes({10, 20, 5, 40});
  // A bucket closes once it holds 100 bytes (25 f32) or more.
  const auto buckets = plan_buckets(params, 100);
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets[0].params, (std::vector<size_t>{3}));
  EXPECT_EQ(buckets[0].numel, 40);
  EXPECT_EQ(buckets[1].params, (std::vector<size_t>{2, 1}));
  EXPECT_EQ(buckets[1].offsets, (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(buckets[1].numel, 25);
  EXPECT_EQ(buckets[2].params, (std::vector<size_t>{0}));
  EXPECT_EQ(plan_buckets(params, 1 << 20).size(), 1u);
  EXPECT_THROW(plan_buckets(params, 0), Error);
}

// Each rank's loss: sum(w_k * x_k) over parameters, x drawn from its rank, over 2 ranks.
std::vector<std::vector<double>> averaged_gradients(bool armed, int64_t bucket_bytes) {
  const std::vector<int64_t> sizes{7, 33, 1, 12};
  std::vector<std::vector<double>> out;
  std::mutex mutex;
  dist::testing::FakeGroup group(2);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.emplace_back([&, r] {
      const auto comm = group.member(r);
      const ParameterList params = params_of_sizes(sizes);
      GradSync sync(*comm, params, bucket_bytes);
      Rng rng(100 + r);
      TensorList terms;
      for (const Parameter& p : params) {
        std::vector<double> x(static_cast<size_t>(p.value.numel()));
        for (double& v : x) v = rng.uniform(-1, 1);
        terms.push_back(ops::sum(ops::mul(p.value, Tensor::from_vector(x, p.value.shape(), DType::F32))));
      }
      Tensor loss = terms[0];
      for (size_t k = 1; k < terms.size(); ++k) loss = ops::add(loss, terms[k]);
      if (armed) sync.arm();
      backward(ops::scale(loss, 0.5));
      sync.finish();
      if (armed) {
        EXPECT_EQ(sync.started_in_backward(), static_cast<int64_t>(sync.buckets().size()));
      }
      if (r != 0) return;
      std::lock_guard<std::mutex> lock(mutex);
      for (const Parameter& p : params) out.push_back(p.value.grad().to_doubles());
    });
  }
  for (std::thread& t : ranks) t.join();
  return out;
}

TEST(GradSync, ArmedAndUnarmedGiveTheMeanGradient) {
  const auto after = averaged_gradients(false, 16), during = averaged_gradients(true, 16);
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(after, during);
  // d(mean loss)/dw = (x_0 + x_1) / 2, the draws of the two ranks.
  Rng r0(100), r1(101);
  for (size_t k = 0; k < after.size(); ++k) {
    for (size_t i = 0; i < after[k].size(); ++i) {
      const double want = (static_cast<float>(r0.uniform(-1, 1)) + static_cast<float>(r1.uniform(-1, 1))) / 2;
      EXPECT_NEAR(after[k][i], want, 1e-6) << "parameter " << k << " element " << i;
    }
  }
}

// Backward writes each f32 gradient into its part of a bucket: the same memory every step.
TEST(GradSync, GradientsLiveInTheBucketsAcrossSteps) {
  dist::testing::FakeGroup group(1);
  const auto comm = group.member(0);
  const ParameterList params = params_of_sizes({3, 4});
  GradSync sync(*comm, params, 1 << 20);
  std::vector<const void*> first;
  for (int step = 0; step < 2; ++step) {
    sync.arm();
    backward(ops::add(ops::sum(ops::mul(params[0].value, params[0].value)), ops::sum(params[1].value)));
    sync.finish();
    for (size_t k = 0; k < params.size(); ++k) {
      if (step == 0) first.push_back(params[k].value.grad().raw_data());
      EXPECT_EQ(params[k].value.grad().raw_data(), first[k]) << "step " << step << ", parameter " << k;
    }
    EXPECT_EQ(params[1].value.grad().to_doubles(), (std::vector<double>{1, 1, 1, 1}));
    for (const Parameter& p : params) p.value.zero_grad();
  }
  EXPECT_TRUE(params[0].value.grad_slot()->buffer.defined());
}

TEST(GradSync, AMissingGradientIsNamed) {
  dist::testing::FakeGroup group(1);
  const auto comm = group.member(0);
  const ParameterList params = params_of_sizes({3, 4});
  GradSync sync(*comm, params, 1 << 20);
  backward(ops::sum(params[0].value));
  try {
    sync.finish();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("parameter p1 received no gradient"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace krait::train
