// Communicators: the single-rank identity, the in-process FakeGroup (bit-exact rank-order sums,
// composition of reduce-scatter and all-gather, broadcast, argument errors and disagreeing ranks),
// NCCL with a world of one on cuda:0 (skipped without a GPU), and NCCL with two ranks on two cards
// (threads of this process; skipped with fewer than two GPUs). The NCCL tests are built only with NCCL.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "autograd/ops.h"
#include "autograd/tensor.h"
#include "common/rng.h"
#include "dist/communicator.h"
#include "dist/nccl_communicator.h"
#include "tests/support/error_text.h"
#include "tests/dist/fake_communicator.h"

namespace krait::dist {
namespace {

using krait::testing::error_text;
using krait::testing::mentions;
using testing::FakeGroup;

Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed, Device device = Device::cpu()) {
  Rng rng(seed);
  std::vector<double> values(shape_numel(shape));
  for (double& v : values) v = rng.normal();
  return Tensor::from_vector(values, shape, dtype, device);
}

// The stored bytes of a tensor (on the host), for bit-for-bit comparisons.
std::vector<uint8_t> bytes_of(const Tensor& t) {
  const Tensor host = t.to(Device::cpu());
  std::vector<uint8_t> out(host.nbytes());
  if (!out.empty()) std::memcpy(out.data(), host.raw_data(), out.size());
  return out;
}

// ---- single rank ----------------------------------------------------------------------------------

TEST(SingleRankCommunicator, EveryCollectiveIsTheIdentity) {
  auto comm = make_single_rank_communicator();
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->world_size(), 1);
  for (DType dtype : {DType::F32, DType::F64}) {
    const Tensor x = random_tensor({3, 4}, dtype, 1);
    const Tensor data = x.clone();
    comm->all_reduce_sum(data);
    EXPECT_EQ(bytes_of(data), bytes_of(x));
    comm->broadcast(data, 0);
    EXPECT_EQ(bytes_of(data), bytes_of(x));

    const Tensor shard = Tensor::zeros({12}, dtype);
    comm->reduce_scatter_sum(x, shard);  // shapes differ, element counts match
    EXPECT_EQ(bytes_of(shard), bytes_of(x));
    const Tensor full = Tensor::zeros({2, 6}, dtype);
    comm->all_gather(shard, full);
    EXPECT_EQ(bytes_of(full), bytes_of(x));

    comm->reduce_scatter_sum(data, data);  // in place
    comm->all_gather(data, data);
    EXPECT_EQ(bytes_of(data), bytes_of(x));
    const Tensor received = Tensor::zeros({6, 2}, dtype);
    comm->all_to_all(x, received);
    EXPECT_EQ(bytes_of(received), bytes_of(x));
    comm->wait();
  }
}

TEST(SingleRankCommunicator, ArgumentErrorsNameTheCollectiveAndTensors) {
  auto comm = make_single_rank_communicator();
  const Tensor f32 = Tensor::zeros({4}, DType::F32);
  EXPECT_TRUE(mentions(error_text([&] { comm->all_reduce_sum(Tensor()); }), "all_reduce_sum: data is an undefined"));
  const std::string int_error = error_text([&] { comm->all_reduce_sum(Tensor::zeros({2}, DType::I64)); });
  EXPECT_TRUE(mentions(int_error, "all_reduce_sum"));
  EXPECT_TRUE(mentions(int_error, "i64[2] on cpu"));
  EXPECT_TRUE(mentions(error_text([&] { comm->all_reduce_sum(Tensor::zeros({2}, DType::BF16)); }), "f32 or f64"));

  const std::string size_error = error_text([&] { comm->reduce_scatter_sum(f32, Tensor::zeros({3}, DType::F32)); });
  EXPECT_TRUE(mentions(size_error, "reduce_scatter_sum: full f32[4] on cpu"));
  EXPECT_TRUE(mentions(size_error, "shard f32[3] on cpu"));
  EXPECT_TRUE(mentions(error_text([&] { comm->all_gather(Tensor::zeros({4}, DType::F64), f32); }),
                       "all_gather: shard f64[4] on cpu and full f32[4] on cpu differ"));
  EXPECT_TRUE(mentions(error_text([&] { comm->all_to_all(f32, Tensor::zeros({5}, DType::F32)); }),
                       "all_to_all: send f32[4] on cpu and recv f32[5] on cpu differ"));
  EXPECT_TRUE(mentions(error_text([&] { comm->all_to_all(f32, f32); }), "all_to_all: send f32[4] on cpu and recv "
                                                                          "f32[4] on cpu overlap"));
  EXPECT_TRUE(mentions(error_text([&] { comm->broadcast(f32, 1); }), "broadcast: root 1 is not a rank"));
  EXPECT_TRUE(mentions(error_text([&] { comm->broadcast(f32, -1); }), "world size 1"));
}

// ---- fake group -----------------------------------------------------------------------------------

class FakeGroupTest : public ::testing::TestWithParam<int> {};

// Rank r's input for a test: deterministic in (seed, r).
Tensor rank_input(int rank, const Shape& shape, DType dtype, uint64_t seed) {
  return random_tensor(shape, dtype, seed * 1000 + rank);
}

// The sum over ranks in rank order, in T: ((x0 + x1) + x2) + ...
template <typename T>
Tensor rank_order_sum(int world, const Shape& shape, uint64_t seed) {
  const Tensor sum = rank_input(0, shape, dtype_of<T>(), seed).clone();
  for (int r = 1; r < world; ++r) {
    const Tensor x = rank_input(r, shape, dtype_of<T>(), seed);
    for (int64_t i = 0; i < sum.numel(); ++i) sum.data<T>()[i] += x.data<T>()[i];
  }
  return sum;
}

template <typename T>
void check_all_reduce_is_rank_order_sum(int world) {
  const Shape shape{7, 5};
  const std::vector<uint8_t> expected = bytes_of(rank_order_sum<T>(world, shape, 7));
  FakeGroup::run(world, [&](Communicator& comm) {
    EXPECT_EQ(comm.world_size(), world);
    const Tensor data = rank_input(comm.rank(), shape, dtype_of<T>(), 7);
    comm.all_reduce_sum(data);
    comm.wait();
    EXPECT_EQ(bytes_of(data), expected) << "rank " << comm.rank();
  });
}

TEST_P(FakeGroupTest, AllReduceIsTheRankOrderSumBitForBitOnEveryRank) {
  check_all_reduce_is_rank_order_sum<float>(GetParam());
  check_all_reduce_is_rank_order_sum<double>(GetParam());
}

TEST_P(FakeGroupTest, ReduceScatterThenAllGatherIsAllReduce) {
  const int world = GetParam();
  for (DType dtype : {DType::F32, DType::F64}) {
    const Shape full_shape{world * 6};
    FakeGroup::run(world, [&](Communicator& comm) {
      const Tensor input = rank_input(comm.rank(), full_shape, dtype, 11);
      const Tensor reduced = input.clone();
      comm.all_reduce_sum(reduced);

      const Tensor shard = Tensor::zeros({2, 3}, dtype);
      comm.reduce_scatter_sum(input, shard);
      const Tensor gathered = Tensor::full(full_shape, -1.0, dtype);
      comm.all_gather(shard, gathered);
      EXPECT_EQ(bytes_of(gathered), bytes_of(reduced)) << "rank " << comm.rank();

      // The same in place: the shard is this rank's slot of the full tensor.
      const Tensor in_place = input.clone();
      const Tensor slot = Tensor::zeros({6}, dtype);
      comm.reduce_scatter_sum(in_place, slot);
      EXPECT_EQ(bytes_of(slot), bytes_of(shard));
    });
  }
}

TEST_P(FakeGroupTest, BroadcastGivesEveryRankTheRootsData) {
  const int world = GetParam();
  const int root = world - 1;
  const std::vector<uint8_t> expected = bytes_of(rank_input(root, {9}, DType::F32, 3));
  FakeGroup::run(world, [&](Communicator& comm) {
    const Tensor data = rank_input(comm.rank(), {9}, DType::F32, 3);
    comm.broadcast(data, root);
    EXPECT_EQ(bytes_of(data), expected) << "rank " << comm.rank();
  });
}

TEST_P(FakeGroupTest, ShardSizeMismatchThrowsOnEveryRank) {
  const int world = GetParam();
  FakeGroup group(world);
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      auto comm = group.member(r);
      const Tensor full = Tensor::zeros({world * 4}, DType::F32);
      const Tensor shard = Tensor::zeros({r == 0 ? 3 : 4}, DType::F32);  // rank 0 is wrong
      try {
        comm->reduce_scatter_sum(full, shard);
      } catch (const krait::Error& e) {
        errors[r] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(mentions(errors[0], "reduce_scatter_sum: full f32[" + std::to_string(world * 4) + "] on cpu"));
  EXPECT_TRUE(mentions(errors[0], "shard f32[3] on cpu"));
  for (int r = 1; r < world; ++r) {
    EXPECT_TRUE(mentions(errors[r], "rank " + std::to_string(r) + " cannot finish reduce_scatter_sum"));
    EXPECT_TRUE(mentions(errors[r], "rank 0 failed in reduce_scatter_sum"));
  }
}

TEST_P(FakeGroupTest, RunRethrowsTheFailureThatBrokeTheGroup) {
  const int world = GetParam();
  const std::string text = error_text([&] {
    FakeGroup::run(world, [&](Communicator& comm) {
      const Tensor full = Tensor::zeros({world * 2}, DType::F64);
      const Tensor shard = Tensor::zeros({comm.rank() == world - 1 ? 1 : 2}, DType::F64);
      comm.all_gather(shard, full);
    });
  });
  EXPECT_TRUE(mentions(text, "all_gather: full f64[" + std::to_string(world * 2) + "] on cpu"));
}

INSTANTIATE_TEST_SUITE_P(Worlds, FakeGroupTest, ::testing::Values(1, 2, 3));

// Chunk q of rank r's send lands in chunk r of rank q's recv; chunks that do not split evenly are refused.
TEST(FakeGroup, AllToAllSendsChunkRToRankR) {
  FakeGroup::run(3, [](Communicator& comm) {
    std::vector<double> send;  // rank r sends 10 r + q to rank q, twice
    for (int q = 0; q < 3; ++q) send.insert(send.end(), {10.0 * comm.rank() + q, 10.0 * comm.rank() + q});
    const Tensor recv = Tensor::zeros({6}, DType::F64);
    comm.all_to_all(Tensor::from_vector(send, {6}, DType::F64), recv);
    std::vector<double> expected;
    for (int q = 0; q < 3; ++q) expected.insert(expected.end(), {10.0 * q + comm.rank(), 10.0 * q + comm.rank()});
    EXPECT_EQ(recv.to_doubles(), expected);
  });
  const std::string text = error_text([] {
    FakeGroup::run(2, [](Communicator& comm) { comm.all_to_all(Tensor::zeros({3}, DType::F64), Tensor::zeros({3}, DType::F64)); });
  });
  EXPECT_TRUE(mentions(text, "does not split into world_size (2) equal chunks")) << text;
}

TEST(FakeGroup, RanksThatDisagreeThrowInsteadOfHanging) {
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  FakeGroup group(2);
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      auto comm = group.member(r);
      try {
        comm->all_reduce_sum(Tensor::zeros({r == 0 ? 4 : 5}, DType::F32));
      } catch (const krait::Error& e) {
        errors[r] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& e : errors) {
    EXPECT_TRUE(mentions(e, "ranks disagree"));
    EXPECT_TRUE(mentions(e, "all_reduce_sum of 4 f32"));
    EXPECT_TRUE(mentions(e, "all_reduce_sum of 5 f32"));
  }
}

TEST(FakeGroup, ARankThatNeverComesTimesOut) {
  FakeGroup group(2, std::chrono::milliseconds(200));
  auto rank0 = group.member(0);
  auto rank1 = group.member(1);  // alive, but never calls
  EXPECT_TRUE(mentions(error_text([&] { rank0->all_reduce_sum(Tensor::zeros({2}, DType::F32)); }),
                       "rank 0 waited more than 200 ms in all_reduce_sum"));
}

TEST(FakeGroup, ALeftRankBreaksTheGroup) {
  FakeGroup group(2);
  auto rank0 = group.member(0);
  group.member(1).reset();
  EXPECT_TRUE(mentions(error_text([&] { rank0->all_reduce_sum(Tensor::zeros({2}, DType::F32)); }),
                       "rank 1 left the group"));
  EXPECT_TRUE(mentions(error_text([&] { group.member(1); }), "rank 1 was already handed out"));
}

TEST(FakeGroup, RepeatedCollectivesStayInStep) {
  FakeGroup::run(3, [](Communicator& comm) {
    for (int step = 0; step < 200; ++step) {
      const Tensor x = Tensor::full({3}, comm.rank() + step, DType::F64);
      comm.all_reduce_sum(x);
      const double expected = 0 + 1 + 2 + 3.0 * step;
      for (double v : x.to_doubles()) ASSERT_EQ(v, expected);
      const Tensor b = Tensor::full({1}, comm.rank() == step % 3 ? step : -1, DType::F32);
      comm.broadcast(b, step % 3);
      ASSERT_EQ(b.item(), step);
    }
  });
}

// ---- NCCL, a world of one on cuda:0 ---------------------------------------------------------------

#if KRAIT_HAS_NCCL

#define KRAIT_REQUIRE_GPU() \
  do {                      \
    if (!cuda_available()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

constexpr std::chrono::seconds kTimeout{120};

TEST(NcclCommunicator, WorldOfOneIsTheIdentity) {
  KRAIT_REQUIRE_GPU();
  auto comm = make_nccl_communicator(0, 1, 0, nccl_unique_id(), kTimeout);
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->world_size(), 1);
  const Device gpu = Device::cuda(0);
  for (DType dtype : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    const Tensor x = random_tensor({1000, 37}, dtype, 5, gpu);
    const std::vector<uint8_t> expected = bytes_of(x);

    const Tensor data = x.clone();
    comm->all_reduce_sum(data);
    comm->wait();
    EXPECT_EQ(bytes_of(data), expected);

    const Tensor shard = Tensor::zeros({37000}, dtype, gpu);
    comm->reduce_scatter_sum(x, shard);
    comm->wait();
    EXPECT_EQ(bytes_of(shard), expected);

    const Tensor full = Tensor::zeros({37, 1000}, dtype, gpu);
    comm->all_gather(shard, full);
    comm->wait();
    EXPECT_EQ(bytes_of(full), expected);

    const Tensor b = x.clone();
    comm->broadcast(b, 0);
    comm->wait();
    EXPECT_EQ(bytes_of(b), expected);

    const Tensor received = Tensor::zeros({1000, 37}, dtype, gpu);
    comm->all_to_all(x, received);
    comm->wait();
    EXPECT_EQ(bytes_of(received), expected);
  }
}

TEST(NcclCommunicator, WaitOrdersCollectivesWithComputeWork) {
  KRAIT_REQUIRE_GPU();
  auto comm = make_nccl_communicator(0, 1, 0, nccl_unique_id(), kTimeout);
  const Device gpu = Device::cuda(0);
  const int64_t n = int64_t{1} << 24;  // large enough that an unordered read would see stale data
  const Tensor x = random_tensor({n}, DType::F32, 9, gpu);
  for (int round = 0; round < 3; ++round) {
    const Tensor gathered = Tensor::zeros({n}, DType::F32, gpu);
    {
      // Produced on the compute stream just before: the collective must wait for it. The handle is
      // dropped before wait(): the communicator keeps the tensor alive.
      const Tensor doubled = ops::scale(x, 2.0);
      comm->all_gather(doubled, gathered);
    }
    comm->all_reduce_sum(gathered);
    comm->wait();
    const Tensor halved = ops::scale(gathered, 0.5);  // compute work after wait() reads the result
    EXPECT_EQ(bytes_of(halved), bytes_of(x)) << "round " << round;
  }
}

TEST(NcclCommunicator, ArgumentErrors) {
  KRAIT_REQUIRE_GPU();
  auto comm = make_nccl_communicator(0, 1, 0, nccl_unique_id(), kTimeout);
  const std::string cpu_error = error_text([&] { comm->all_reduce_sum(Tensor::zeros({4}, DType::F32)); });
  EXPECT_TRUE(mentions(cpu_error, "all_reduce_sum: data is f32[4] on cpu"));
  EXPECT_TRUE(mentions(cpu_error, "cuda:0"));
  EXPECT_TRUE(mentions(error_text([&] { comm->broadcast(Tensor::zeros({4}, DType::F64, Device::cuda(0)), 0); }),
                       "f32 or bf16"));
  EXPECT_TRUE(mentions(error_text([&] {
                         comm->all_gather(Tensor::zeros({4}, DType::F32, Device::cuda(0)),
                                          Tensor::zeros({5}, DType::F32, Device::cuda(0)));
                       }),
                       "all_gather: full f32[5] on cuda:0"));
  // The communicator is still healthy after argument errors.
  const Tensor ok = Tensor::full({4}, 3.0, DType::F32, Device::cuda(0));
  comm->all_reduce_sum(ok);
  comm->wait();
  EXPECT_EQ(ok.to_doubles(), std::vector<double>(4, 3.0));
}

TEST(NcclCommunicator, RejectsABadUniqueIdOrRank) {
  EXPECT_TRUE(mentions(error_text([] { make_nccl_communicator(0, 1, 0, std::vector<uint8_t>(16), kTimeout); }),
                       "the unique id has 16 bytes, expected NCCL_UNIQUE_ID_BYTES = 128"));
  EXPECT_TRUE(mentions(error_text([] { make_nccl_communicator(2, 2, 0, std::vector<uint8_t>(128), kTimeout); }),
                       "rank 2 is not in [0, 2)"));
}

TEST(NcclCommunicator, InitTimesOutWhenARankNeverJoins) {
  KRAIT_REQUIRE_GPU();
  const auto start = std::chrono::steady_clock::now();
  const std::string text = error_text([] { make_nccl_communicator(0, 2, 0, nccl_unique_id(), std::chrono::seconds(3)); });
  EXPECT_TRUE(mentions(text, "rank 0: NCCL initialization"));
  EXPECT_TRUE(mentions(text, "did not finish within 3 s"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
}

// ---- NCCL, two ranks on cuda:0 and cuda:1 ---------------------------------------------------------

#define KRAIT_REQUIRE_TWO_GPUS() \
  do {                           \
    if (cuda_device_count() < 2) GTEST_SKIP() << "fewer than two CUDA devices"; \
  } while (0)

// Runs body(rank, communicator) for ranks 0 and 1 on threads, each rank on its own card, and
// rethrows the first failure.
template <typename Body>
void run_two_ranks(std::chrono::seconds timeout, Body body) {
  const std::vector<uint8_t> id = nccl_unique_id();
  std::exception_ptr failure[2];
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank)
    threads.emplace_back([&, rank] {
      try {
        auto comm = make_nccl_communicator(rank, 2, rank, id, timeout);
        body(rank, *comm);
      } catch (...) {
        failure[rank] = std::current_exception();
      }
    });
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& f : failure)
    if (f) std::rethrow_exception(f);
}

TEST(NcclTwoGpus, CollectivesAgreeWithTheHostSums) {
  KRAIT_REQUIRE_TWO_GPUS();
  const Shape shape{1000, 37};  // not a multiple of any NCCL chunk size
  const int64_t n = shape_numel(shape);
  for (DType dtype : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    // Each rank's input, and the sums computed on the host from the rounded values.
    std::vector<double> in[2], sum(n);
    for (int r = 0; r < 2; ++r) in[r] = random_tensor(shape, dtype, 100 + r).to_doubles();
    for (int64_t i = 0; i < n; ++i) sum[i] = in[0][i] + in[1][i];
    const double tolerance = dtype == DType::BF16 ? 1e-2 : 1e-6;
    auto expect_near = [&](const std::vector<double>& got, std::span<const double> want, const char* what) {
      ASSERT_EQ(got.size(), want.size()) << what;
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], tolerance * (1 + std::abs(want[i]))) << what << " at " << i;
    };
    std::vector<double> reduced[2], shards[2], gathered[2], broadcast[2];
    run_two_ranks(kTimeout, [&](int rank, Communicator& comm) {
      const Device gpu = Device::cuda(rank);
      const Tensor x = random_tensor(shape, dtype, 100 + rank, gpu);
      const Tensor all = x.clone();
      comm.all_reduce_sum(all);
      const Tensor shard = Tensor::zeros({n / 2}, dtype, gpu);
      comm.reduce_scatter_sum(x, shard);
      const Tensor full = Tensor::zeros(shape, dtype, gpu);
      comm.all_gather(shard, full);
      const Tensor b = x.clone();
      comm.broadcast(b, 1);
      comm.wait();
      reduced[rank] = all.to_doubles();
      shards[rank] = shard.to_doubles();
      gathered[rank] = full.to_doubles();
      broadcast[rank] = b.to_doubles();
    });
    for (int r = 0; r < 2; ++r) {
      SCOPED_TRACE("rank " + std::to_string(r));
      expect_near(reduced[r], sum, "all_reduce_sum");
      expect_near(shards[r], std::span<const double>(sum).subspan(r * (n / 2), n / 2), "reduce_scatter_sum");
      expect_near(gathered[r], std::span<const double>(sum).first(2 * (n / 2)), "all_gather");
      EXPECT_EQ(broadcast[r], in[1]) << "broadcast from rank 1";
    }
    EXPECT_EQ(reduced[0], reduced[1]) << "the ranks' all-reduce results differ";
  }
}

// Each rank's halves go to rank 0 and rank 1: exact copies, in f32 and bf16.
TEST(NcclTwoGpus, AllToAllSwapsTheHalves) {
  KRAIT_REQUIRE_TWO_GPUS();
  const Shape shape{2, 999, 37};  // halves of 36,963 elements: no NCCL chunk size
  for (DType dtype : {DType::F32, DType::BF16}) {
    SCOPED_TRACE(dtype_name(dtype));
    std::vector<uint8_t> sent[2], received[2];
    run_two_ranks(kTimeout, [&](int rank, Communicator& comm) {
      const Tensor x = random_tensor(shape, dtype, 200 + rank, Device::cuda(rank));
      const Tensor y = Tensor::zeros(shape, dtype, Device::cuda(rank));
      comm.all_to_all(x, y);
      comm.wait();
      sent[rank] = bytes_of(x);
      received[rank] = bytes_of(y);
    });
    const size_t half = sent[0].size() / 2;
    for (int r = 0; r < 2; ++r)
      for (int q = 0; q < 2; ++q)
        EXPECT_TRUE(std::equal(received[r].begin() + q * half, received[r].begin() + (q + 1) * half,
                               sent[q].begin() + r * half))
            << "rank " << r << "'s chunk from rank " << q;
  }
}

TEST(NcclTwoGpus, ARankThatStopsCallingTimesOutTheOther) {
  KRAIT_REQUIRE_TWO_GPUS();
  std::string text;
  const auto start = std::chrono::steady_clock::now();
  run_two_ranks(std::chrono::seconds(3), [&](int rank, Communicator& comm) {
    const Tensor x = Tensor::full({1 << 20}, 1.0, DType::F32, Device::cuda(rank));
    comm.all_reduce_sum(x);  // one collective together, then rank 1 leaves without a word
    comm.wait();
    EXPECT_EQ(x.to_doubles()[0], 2.0);
    if (rank == 1) return;
    text = error_text([&] {
      for (int i = 0; i < 100; ++i) {  // the first call hangs until the watchdog aborts it
        comm.all_reduce_sum(x);
        comm.wait();
        (void)x.to_doubles();
      }
    });
  });
  EXPECT_TRUE(mentions(text, "rank 0")) << text;
  // The watchdog's timeout, or NCCL's own error if it notices the peer's communicator go first.
  EXPECT_TRUE(mentions(text, "did not finish within 3 s") || mentions(text, "NCCL")) << text;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
}

#endif  // KRAIT_HAS_NCCL

}  // namespace
}  // namespace krait::dist
