// ShardedAdamW (ZeRO-1) on the CPU, ranks as threads over the fake communicator, against a plain AdamW +
// clip_grad_norm on the summed gradients (summed in rank order in f32, as FakeGroup sums):
// - parameters bit-identical on 1, 2 and 3 ranks, with and without clipping, buckets small enough that
//   parameters straddle shards and buckets; the norm equal to clip_grad_norm's up to the last bits of the
//   double (its squares are added in another order; the f32 clipping coefficient comes out the same);
// - state() equal to AdamW::state() on every rank, and a 2-rank state continuing identically on 3 ranks;
// - a non-finite gradient on one rank: a non-finite norm and nothing changed;
// - state_bytes about 1/world of unsharded_state_bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "dist/communicator.h"
#include "optim/adamw.h"
#include "optim/clip.h"
#include "tests/dist/fake_communicator.h"
#include "autograd/ops.h"
#include "train/zero1.h"

namespace krait::train {
namespace {

using dist::testing::FakeGroup;

struct Spec {
  const char* name;
  Shape shape;
  bool no_weight_decay;
};

// Odd sizes, some without weight decay; 7 + 165 + 1 + 12 + 2 = 187 elements.
const std::vector<Spec> kSpecs = {
    {"embed.weight", {7}, true},
    {"layers.0.proj.weight", {33, 5}, false},
    {"layers.0.proj.bias", {1}, true},
    {"layers.1.proj.weight", {4, 3}, false},
    {"norm.weight", {2}, true},
};

// A deterministic value in about [-1, 1) for (a, b, c, d).
double noise(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t x = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull ^
               (c + 0x94D049BB133111EBull) * 0x2545F4914F6CDD1Dull ^ (d + 7) * 0xD6E8FEB86659FD93ull;
  x ^= x >> 31;
  x *= 0x9E3779B97F4A7C15ull;
  x ^= x >> 29;
  return static_cast<double>(x >> 11) / static_cast<double>(1ull << 52) - 1.0;
}

ParameterList make_params(DType dtype = DType::F32) {
  ParameterList params;
  for (size_t k = 0; k < kSpecs.size(); ++k) {
    std::vector<double> v(static_cast<size_t>(shape_numel(kSpecs[k].shape)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = noise(1000, k, i, 0);
    Tensor t = Tensor::from_vector(v, kSpecs[k].shape, dtype);
    t.set_requires_grad(true);
    ParamTags tags;
    tags.no_weight_decay = kSpecs[k].no_weight_decay;
    params.push_back({kSpecs[k].name, t, tags});
  }
  return params;
}

// Rank r's gradient of parameter k at step t (a few large ones, so the norm is well above 1).
Tensor rank_grad(int64_t t, int r, size_t k, DType dtype) {
  std::vector<double> v(static_cast<size_t>(shape_numel(kSpecs[k].shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = noise(t, r, k, i) * (i % 11 == 3 ? 4.0 : 0.5);
  return Tensor::from_vector(v, kSpecs[k].shape, dtype);
}

// The sum over the ranks in rank order, in the gradient's dtype, as FakeGroup sums.
template <typename T> Tensor summed_grad(int64_t t, int world, size_t k, DType dtype) {
  Tensor sum = rank_grad(t, 0, k, dtype);
  for (int r = 1; r < world; ++r) {
    const Tensor g = rank_grad(t, r, k, dtype);
    T* s = sum.data<T>();
    const T* x = g.data<T>();
    for (int64_t i = 0; i < sum.numel(); ++i) s[i] += x[i];
  }
  return sum;
}

double lr_at(int64_t t) { return 0.02 / static_cast<double>(1 + t % 3); }

AdamWConfig config() {
  AdamWConfig c;
  c.lr = 0.01;
  c.weight_decay = 0.1;
  return c;
}

// Bit patterns of every parameter, concatenated.
std::vector<double> values(const ParameterList& params) {
  std::vector<double> out;
  for (const Parameter& p : params) {
    const std::vector<double> v = p.value.to_doubles();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// Exact equality of two runs of values (f32 and f64 convert to double exactly); reports the first difference.
::testing::AssertionResult bit_identical(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "sizes " << a.size() << " and " << b.size();
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(double)) != 0)
      return ::testing::AssertionFailure() << "element " << i << ": " << a[i] << " vs " << b[i] << " (diff "
                                           << a[i] - b[i] << ")";
  return ::testing::AssertionSuccess();
}

// The reference: plain AdamW over one set of parameters, gradients summed over `world` ranks.
struct Reference {
  explicit Reference(DType dtype = DType::F32) : dtype(dtype), params(make_params(dtype)), adamw(params, config()) {}
  // Steps t0 .. t1-1; returns the norms.
  std::vector<double> run(int64_t t0, int64_t t1, int world, double max_norm) {
    std::vector<double> norms;
    for (int64_t t = t0; t < t1; ++t) {
      for (size_t k = 0; k < params.size(); ++k)
        params[k].value.set_grad(dtype == DType::F64 ? summed_grad<double>(t, world, k, dtype)
                                                     : summed_grad<float>(t, world, k, dtype));
      const double norm = max_norm > 0 ? clip_grad_norm(params, max_norm) : global_grad_norm(params);
      if (std::isfinite(norm)) adamw.step(lr_at(t));
      for (const Parameter& p : params) p.value.zero_grad();
      norms.push_back(norm);
    }
    return norms;
  }
  DType dtype;
  ParameterList params;
  AdamW adamw;
};

// One rank's steps t0 .. t1-1 of a ShardedAdamW; returns the norms.
std::vector<double> sharded_steps(ShardedAdamW& opt, int rank, int64_t t0, int64_t t1, double max_norm) {
  std::vector<double> norms;
  const ParameterList& params = opt.params();
  for (int64_t t = t0; t < t1; ++t) {
    for (size_t k = 0; k < params.size(); ++k) params[k].value.set_grad(rank_grad(t, rank, k, params[k].value.dtype()));
    norms.push_back(opt.step(lr_at(t), max_norm));
    for (const Parameter& p : params) p.value.zero_grad();
  }
  return norms;
}

struct RankResult {
  std::vector<double> values;
  std::vector<double> norms;
  std::vector<AdamWParamState> state;
  int64_t step_count = 0;
};

// Runs `steps` steps on `world` ranks; every rank's result.
std::vector<RankResult> run_sharded(int world, int64_t steps, double max_norm, int64_t bucket_bytes,
                                    DType dtype = DType::F32) {
  std::vector<RankResult> results(static_cast<size_t>(world));
  FakeGroup::run(world, [&](dist::Communicator& comm) {
    ShardedAdamW opt(comm, make_params(dtype), config(), bucket_bytes);
    RankResult& out = results[static_cast<size_t>(comm.rank())];
    out.norms = sharded_steps(opt, comm.rank(), 0, steps, max_norm);
    out.values = values(opt.params());
    out.state = opt.state();
    out.step_count = opt.step_count();
  });
  return results;
}

void expect_same_state(const std::vector<AdamWParamState>& got, const std::vector<AdamWParamState>& want,
                       const std::string& where) {
  ASSERT_EQ(got.size(), want.size()) << where;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].name, want[i].name) << where;
    EXPECT_EQ(got[i].step, want[i].step) << where << " " << want[i].name;
    EXPECT_EQ(got[i].exp_avg.shape(), want[i].exp_avg.shape()) << where << " " << want[i].name;
    EXPECT_EQ(got[i].exp_avg.dtype(), want[i].exp_avg.dtype()) << where << " " << want[i].name;
    EXPECT_TRUE(bit_identical(got[i].exp_avg.to_doubles(), want[i].exp_avg.to_doubles())) << where << " exp_avg of "
                                                                                         << want[i].name;
    EXPECT_TRUE(bit_identical(got[i].exp_avg_sq.to_doubles(), want[i].exp_avg_sq.to_doubles()))
        << where << " exp_avg_sq of " << want[i].name;
  }
}

TEST(Zero1, MatchesAdamWWithClippingOnSummedGradients) {
  constexpr int64_t kSteps = 6;
  for (int world : {1, 2, 3}) {
    // 64 bytes: many buckets, parameters straddling shards; 1 MiB: one bucket.
    for (int64_t bucket_bytes : {int64_t{64}, int64_t{1} << 20}) {
      for (double max_norm : {0.0, 1.0}) {
        SCOPED_TRACE("world " + std::to_string(world) + ", bucket " + std::to_string(bucket_bytes) + " bytes, max_norm " +
                     std::to_string(max_norm));
        Reference ref;
        const std::vector<double> ref_norms = ref.run(0, kSteps, world, max_norm);
        if (max_norm > 0) {
          for (double n : ref_norms) EXPECT_GT(n, max_norm) << "the test should clip at every step";
        }
        const std::vector<RankResult> results = run_sharded(world, kSteps, max_norm, bucket_bytes);
        for (int r = 0; r < world; ++r) {
          const RankResult& got = results[static_cast<size_t>(r)];
          EXPECT_TRUE(bit_identical(got.values, values(ref.params))) << "rank " << r;
          ASSERT_EQ(got.norms.size(), ref_norms.size());
          for (size_t t = 0; t < ref_norms.size(); ++t) {
            // Same squares, added in another order: equal up to the last bits of the double.
            EXPECT_DOUBLE_EQ(got.norms[t], ref_norms[t]) << "rank " << r << ", step " << t;
            EXPECT_EQ(std::memcmp(&got.norms[t], &results[0].norms[t], sizeof(double)), 0)
                << "every rank computes the same norm";
          }
          EXPECT_EQ(got.step_count, kSteps);
          expect_same_state(got.state, ref.adamw.state(), "rank " + std::to_string(r));
        }
      }
    }
  }
}

// Gradients from a real backward, accumulating in the buckets: armed, every bucket's reduce-scatter
// starts during the backward, and the step ends at the same parameters, bit for bit, as unarmed.
TEST(Zero1, ArmedReduceScattersDuringBackwardToTheSameStep) {
  const auto run = [](bool armed) {
    std::vector<double> out;
    std::mutex mutex;
    dist::testing::FakeGroup::run(2, [&](dist::Communicator& comm) {
      const ParameterList params = make_params();
      ShardedAdamW optimizer(comm, params, config(), 64);
      for (int64_t t = 0; t < 3; ++t) {
        Tensor loss;
        for (size_t k = 0; k < params.size(); ++k) {
          const Tensor term = ops::sum(ops::mul(ops::mul(params[k].value, params[k].value), rank_grad(t, comm.rank(), k, DType::F32)));
          loss = loss.defined() ? ops::add(loss, term) : term;
        }
        if (armed) optimizer.arm();
        backward(ops::scale(loss, 0.5));
        if (armed) {
          EXPECT_EQ(optimizer.started_in_backward(), static_cast<int64_t>(optimizer.buckets().size()));
        }
        optimizer.step(lr_at(t), 1.0);
        for (const Parameter& p : params) p.value.zero_grad();
      }
      if (comm.rank() != 0) return;
      std::lock_guard<std::mutex> lock(mutex);
      out = values(params);
    });
    return out;
  };
  EXPECT_TRUE(bit_identical(run(true), run(false)));
}

TEST(Zero1, F64ParametersAreBitIdenticalWithoutClipping) {
  for (int world : {2, 3}) {
    Reference ref(DType::F64);
    ref.run(0, 4, world, 0.0);
    const std::vector<RankResult> results = run_sharded(world, 4, 0.0, 96, DType::F64);
    for (int r = 0; r < world; ++r) {
      EXPECT_TRUE(bit_identical(results[static_cast<size_t>(r)].values, values(ref.params))) << "world " << world;
      expect_same_state(results[static_cast<size_t>(r)].state, ref.adamw.state(), "f64");
    }
  }
}

// Saved on 2 ranks, loaded on 3 (and on 1), continues as the plain AdamW does. The optimizer is built
// before the weights are loaded into its parameters: step() reads them as they are.
TEST(Zero1, StateSavedOnTwoRanksContinuesOnThree) {
  constexpr double kMaxNorm = 1.0;
  Reference first;
  first.run(0, 3, 2, kMaxNorm);
  const std::vector<RankResult> saved = run_sharded(2, 3, kMaxNorm, 64);
  ASSERT_TRUE(bit_identical(saved[0].values, values(first.params)));
  expect_same_state(saved[1].state, first.adamw.state(), "saved on rank 1");

  for (int world : {3, 1}) {
    SCOPED_TRACE("resumed on " + std::to_string(world) + " ranks");
    // Steps 3..5 with this world's gradients.
    Reference ref;
    ref.run(0, 3, 2, kMaxNorm);
    ref.run(3, 6, world, kMaxNorm);
    std::vector<std::vector<double>> finals(static_cast<size_t>(world));
    std::vector<std::vector<AdamWParamState>> states(static_cast<size_t>(world));
    FakeGroup::run(world, [&](dist::Communicator& comm) {
      ParameterList params = make_params();
      ShardedAdamW opt(comm, params, config(), 100);
      opt.load_state(saved[0].step_count, saved[0].state);
      EXPECT_EQ(opt.step_count(), 3);
      // The weights as a checkpoint would restore them, after construction.
      size_t at = 0;
      for (const Parameter& p : params) {
        std::vector<double> v(saved[0].values.begin() + static_cast<std::ptrdiff_t>(at),
                              saved[0].values.begin() + static_cast<std::ptrdiff_t>(at + p.value.numel()));
        p.value.copy_from(Tensor::from_vector(v, p.value.shape(), DType::F32));
        at += static_cast<size_t>(p.value.numel());
      }
      sharded_steps(opt, comm.rank(), 3, 6, kMaxNorm);
      finals[static_cast<size_t>(comm.rank())] = values(opt.params());
      states[static_cast<size_t>(comm.rank())] = opt.state();
      EXPECT_EQ(opt.step_count(), 6);
    });
    for (int r = 0; r < world; ++r) {
      EXPECT_TRUE(bit_identical(finals[static_cast<size_t>(r)], values(ref.params))) << "rank " << r;
      expect_same_state(states[static_cast<size_t>(r)], ref.adamw.state(), "rank " + std::to_string(r));
    }
  }
}

// A state saved by a plain AdamW (a checkpoint of an unsharded run) loads on 2 ranks, and a parameter
// without an entry starts afresh, as AdamW::load_state does.
TEST(Zero1, LoadsAPlainAdamWStateWithAParameterMissing) {
  Reference ref;
  ref.run(0, 2, 2, 0.0);
  std::vector<AdamWParamState> saved;
  for (const AdamWParamState& s : ref.adamw.state())
    if (s.name != "layers.0.proj.weight") saved.push_back({s.name, s.step, s.exp_avg.clone(), s.exp_avg_sq.clone()});
  ref.adamw.load_state(ref.adamw.step_count(), saved);
  const std::vector<double> start = values(ref.params);
  ref.run(2, 4, 2, 0.0);

  std::vector<std::vector<double>> finals(2);
  std::vector<std::vector<AdamWParamState>> states(2);
  FakeGroup::run(2, [&](dist::Communicator& comm) {
    ParameterList params = make_params();
    size_t at = 0;
    for (const Parameter& p : params) {
      std::vector<double> v(start.begin() + static_cast<std::ptrdiff_t>(at),
                            start.begin() + static_cast<std::ptrdiff_t>(at + p.value.numel()));
      p.value.copy_from(Tensor::from_vector(v, p.value.shape(), DType::F32));
      at += static_cast<size_t>(p.value.numel());
    }
    ShardedAdamW opt(comm, params, config(), 48);
    opt.load_state(2, saved);
    EXPECT_EQ(opt.state().size(), kSpecs.size() - 1);
    sharded_steps(opt, comm.rank(), 2, 4, 0.0);
    finals[static_cast<size_t>(comm.rank())] = values(opt.params());
    states[static_cast<size_t>(comm.rank())] = opt.state();
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(bit_identical(finals[static_cast<size_t>(r)], values(ref.params))) << "rank " << r;
    expect_same_state(states[static_cast<size_t>(r)], ref.adamw.state(), "rank " + std::to_string(r));
  }
  for (const AdamWParamState& s : states[0]) {
    if (s.name == "layers.0.proj.weight") {
      EXPECT_EQ(s.step, 2) << "started afresh at step 2";
    }
  }
}

TEST(Zero1, LoadStateRejectsWhatAdamWRejects) {
  const auto comm = dist::make_single_rank_communicator();
  ShardedAdamW opt(*comm, make_params(), config(), 64);
  const Tensor m = Tensor::zeros({7}, DType::F32);
  EXPECT_THROW(opt.load_state(1, {{"nope", 1, m, m}}), Error);
  EXPECT_THROW(opt.load_state(1, {{"embed.weight", 2, m, m}}), Error);
  EXPECT_THROW(opt.load_state(1, {{"embed.weight", 1, m, m}, {"embed.weight", 1, m, m}}), Error);
  EXPECT_THROW(opt.load_state(1, {{"layers.0.proj.bias", 1, m, m}}), Error);
  // A missing gradient is named.
  try {
    opt.step(0.01, 0.0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("embed.weight"), std::string::npos) << e.what();
  }
}

TEST(Zero1, ANonFiniteGradientOnOneRankChangesNothing) {
  for (int world : {2, 3}) {
    for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
      SCOPED_TRACE("world " + std::to_string(world) + ", " + std::to_string(bad));
      // The reference takes steps 0, 1 and 3 (step 2 skipped).
      Reference ref;
      ref.run(0, 2, world, 1.0);
      ref.run(3, 4, world, 1.0);
      std::vector<double> bad_norms(static_cast<size_t>(world));
      std::vector<std::vector<double>> finals(static_cast<size_t>(world));
      FakeGroup::run(world, [&](dist::Communicator& comm) {
        ShardedAdamW opt(comm, make_params(), config(), 64);
        sharded_steps(opt, comm.rank(), 0, 2, 1.0);
        const std::vector<double> before = values(opt.params());
        const std::vector<AdamWParamState> state_before = opt.state();
        const ParameterList& params = opt.params();
        for (size_t k = 0; k < params.size(); ++k) {
          Tensor g = rank_grad(2, comm.rank(), k, DType::F32);
          if (comm.rank() == world - 1 && k == 1) g.data<float>()[17] = static_cast<float>(bad);
          params[k].value.set_grad(g);
        }
        bad_norms[static_cast<size_t>(comm.rank())] = opt.step(lr_at(2), 1.0);
        for (const Parameter& p : params) p.value.zero_grad();
        EXPECT_TRUE(bit_identical(values(params), before)) << "rank " << comm.rank();
        EXPECT_EQ(opt.step_count(), 2);
        expect_same_state(opt.state(), state_before, "after the skipped step");
        sharded_steps(opt, comm.rank(), 3, 4, 1.0);
        finals[static_cast<size_t>(comm.rank())] = values(params);
      });
      for (int r = 0; r < world; ++r) {
        EXPECT_FALSE(std::isfinite(bad_norms[static_cast<size_t>(r)])) << "rank " << r;
        EXPECT_TRUE(bit_identical(finals[static_cast<size_t>(r)], values(ref.params))) << "rank " << r;
      }
    }
  }
}

TEST(Zero1, StateBytesAreAboutOneWorldth) {
  for (int world : {1, 2, 3, 4}) {
    std::vector<int64_t> bytes(static_cast<size_t>(world));
    int64_t unsharded = 0;
    size_t buckets = 0;
    std::mutex mutex;
    FakeGroup::run(world, [&](dist::Communicator& comm) {
      ShardedAdamW opt(comm, make_params(), config(), 256);
      bytes[static_cast<size_t>(comm.rank())] = opt.state_bytes();
      std::lock_guard<std::mutex> lock(mutex);
      unsharded = opt.unsharded_state_bytes();
      buckets = opt.buckets().size();
    });
    EXPECT_EQ(unsharded, 187 * 2 * 4);
    int64_t total = 0;
    for (int64_t b : bytes) {
      total += b;
      // Each bucket's shard is ceil(numel / world) elements, padding not counted.
      EXPECT_LE(b, unsharded / world + static_cast<int64_t>(buckets) * 2 * 4) << "world " << world;
      EXPECT_GE(b, unsharded / world - static_cast<int64_t>(buckets) * 2 * 4 * world) << "world " << world;
    }
    EXPECT_EQ(total, unsharded) << "the shards cover every element once";
  }
}

}  // namespace
}  // namespace krait::train
