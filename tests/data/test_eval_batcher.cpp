// tests/data/test_eval_batcher.cpp — the evaluation pass: windows in order, each exactly once
// across ranks, the cap, and reset.
#include <gtest/gtest.h>

#include <map>

#include "data/eval_batcher.h"
#include "tests/data/vector_source.h"

namespace krait::data {
namespace {

using testing::VectorSource;

// Window start -> how many times it was served, over every rank's pass.
std::map<int32_t, int> served_windows(const TokenSource& source, int64_t batch_size, int64_t seq_len,
                                      int world_size, int64_t max_batches = 0) {
  std::map<int32_t, int> served;
  for (int rank = 0; rank < world_size; ++rank) {
    EvalBatcher pass(source, batch_size, seq_len, rank, world_size, max_batches);
    Batch batch;
    uint64_t rows = 0;
    while (pass.next(batch)) {
      EXPECT_GE(batch.batch_size, 1);
      EXPECT_LE(batch.batch_size, batch_size);
      for (int64_t row = 0; row < batch.batch_size; ++row) {
        const size_t first = static_cast<size_t>(row * seq_len);
        const int32_t start = batch.inputs[first];
        for (int64_t t = 0; t < seq_len; ++t) {
          EXPECT_EQ(batch.inputs[first + static_cast<size_t>(t)], start + t);
          EXPECT_EQ(batch.targets[first + static_cast<size_t>(t)], start + t + 1);
        }
        ++served[start];
      }
      rows += static_cast<uint64_t>(batch.batch_size);
    }
    EXPECT_EQ(rows, pass.rank_windows());
  }
  return served;
}

TEST(EvalBatcher, CoversEveryWindowExactlyOnceAcrossRanks) {
  const auto source = VectorSource::positions(1000);  // (1000 - 1) / 10 = 99 windows
  for (int world_size : {1, 2, 3, 4, 7}) {
    const auto served = served_windows(source, 4, 10, world_size);
    ASSERT_EQ(served.size(), 99u) << "world_size " << world_size;
    int32_t expected_start = 0;
    for (const auto& [start, times] : served) {
      EXPECT_EQ(start, expected_start);
      EXPECT_EQ(times, 1);
      expected_start += 10;
    }
  }
}

TEST(EvalBatcher, UsesTheLastTokenWhenWindowsFitExactly) {
  const auto source = VectorSource::positions(31);  // 3 windows of 10, the last ending at token 30
  EvalBatcher pass(source, 8, 10);
  EXPECT_EQ(pass.total_windows(), 3u);
  Batch batch;
  ASSERT_TRUE(pass.next(batch));
  EXPECT_EQ(batch.batch_size, 3);
  EXPECT_EQ(batch.targets.back(), 30);
  EXPECT_FALSE(pass.next(batch));
}

TEST(EvalBatcher, MaxBatchesCapsEachRank) {
  const auto source = VectorSource::positions(1000);
  const auto served = served_windows(source, 4, 10, 3, 2);  // 2 batches x 4 windows x 3 ranks
  ASSERT_EQ(served.size(), 24u);
  EXPECT_EQ(served.rbegin()->first, 230);
  EvalBatcher pass(source, 4, 10, 1, 3, 2);
  EXPECT_EQ(pass.total_windows(), 24u);
  EXPECT_EQ(pass.rank_windows(), 8u);
}

TEST(EvalBatcher, ResetRepeatsThePass) {
  const auto source = VectorSource::positions(200);
  EvalBatcher pass(source, 3, 7, 1, 2);
  std::vector<int32_t> first, second;
  Batch batch;
  while (pass.next(batch)) first.insert(first.end(), batch.inputs.begin(), batch.inputs.end());
  pass.reset();
  while (pass.next(batch)) second.insert(second.end(), batch.inputs.begin(), batch.inputs.end());
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, second);
}

TEST(EvalBatcher, SourceTooShortForAWindowYieldsNothing) {
  const auto source = VectorSource::positions(10);
  EvalBatcher pass(source, 2, 10);
  Batch batch;
  EXPECT_EQ(pass.total_windows(), 0u);
  EXPECT_FALSE(pass.next(batch));
}

}  // namespace
}  // namespace krait::data
