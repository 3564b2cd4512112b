// tests/data/test_random_batcher.cpp — the training sampler: window shape and bounds,
// determinism, one global stream sliced by rank, and exact resume from a saved state.
#include <gtest/gtest.h>

#include <set>

#include "data/random_batcher.h"
#include "tests/data/batch_compare.h"
#include "tests/data/error_text.h"
#include "tests/data/vector_source.h"

namespace krait::data {
namespace {

using testing::draw;
using testing::draw_stacked;
using testing::same;
using testing::same_state;
using testing::VectorSource;

TEST(RandomBatcher, WindowsAreContiguousInBoundsAndTargetsAreShiftedInputs) {
  const auto source = VectorSource::positions(100);
  RandomBatcher batcher(source, 4, 9, 1234);
  std::set<int32_t> starts;
  for (const Batch& batch : draw(batcher, 200)) {
    ASSERT_EQ(batch.batch_size, 4);
    ASSERT_EQ(batch.seq_len, 9);
    ASSERT_EQ(batch.inputs.size(), 36u);
    ASSERT_EQ(batch.targets.size(), 36u);
    for (int64_t row = 0; row < 4; ++row) {
      const int32_t start = batch.inputs[static_cast<size_t>(row * 9)];
      starts.insert(start);
      EXPECT_GE(start, 0);
      EXPECT_LE(start + 9, 99);  // the last target is token start + 9
      for (int64_t t = 0; t < 9; ++t) {
        EXPECT_EQ(batch.inputs[static_cast<size_t>(row * 9 + t)], start + t);
        EXPECT_EQ(batch.targets[static_cast<size_t>(row * 9 + t)], start + t + 1);
      }
    }
  }
  // 800 uniform draws over 91 starts reach both ends.
  EXPECT_EQ(*starts.begin(), 0);
  EXPECT_EQ(*starts.rbegin(), 90);
}

TEST(RandomBatcher, SourceOfExactlyOneWindow) {
  const auto source = VectorSource::positions(6);
  RandomBatcher batcher(source, 2, 5, 7);
  Batch batch;
  batcher.next(batch);
  EXPECT_EQ(batch.inputs, (std::vector<int32_t>{0, 1, 2, 3, 4, 0, 1, 2, 3, 4}));
  EXPECT_EQ(batch.targets, (std::vector<int32_t>{1, 2, 3, 4, 5, 1, 2, 3, 4, 5}));
}

TEST(RandomBatcher, SameSeedGivesSameBatches) {
  const auto source = VectorSource::positions(10000);
  RandomBatcher a(source, 8, 16, 42), b(source, 8, 16, 42), c(source, 8, 16, 43);
  const auto from_a = draw(a, 10);
  EXPECT_TRUE(same(from_a, draw(b, 10)));
  EXPECT_FALSE(same(from_a, draw(c, 10)));
}

// One stream for all ranks: rank r's rows are rows [8r, 8r + 8) of the global micro-batch one rank
// draws alone, so training sees the same windows on any number of ranks and resumes across them.
TEST(RandomBatcher, RanksReadSlicesOfOneGlobalStream) {
  const auto source = VectorSource::positions(10000);
  RandomBatcher rank0(source, 8, 16, 42, 0, 4), rank1(source, 8, 16, 42, 1, 4), rank2(source, 8, 16, 42, 2, 4),
      rank3(source, 8, 16, 42, 3, 4), solo(source, 32, 16, 42);
  const auto global = draw(solo, 10);
  EXPECT_TRUE(same(draw_stacked({&rank0, &rank1, &rank2, &rank3}, 10), global));
  EXPECT_TRUE(same_state(rank2.state(), solo.state()));
  // Two ranks of 16 resume from the single rank's state.
  RandomBatcher half0(source, 16, 16, 42, 0, 2), half1(source, 16, 16, 42, 1, 2);
  half0.set_state(solo.state());
  half1.set_state(solo.state());
  EXPECT_TRUE(same(draw_stacked({&half0, &half1}, 5), draw(solo, 5)));
  EXPECT_NE(rank_seed(42, 0), rank_seed(42, 1));
  EXPECT_NE(rank_seed(42, 1), rank_seed(43, 0));
}

TEST(RandomBatcher, RestoredStateContinuesIdentically) {
  const auto source = VectorSource::positions(10000);
  RandomBatcher original(source, 8, 16, 99, 2, 3);
  draw(original, 5);
  const SamplerState saved = original.state();
  EXPECT_EQ(saved.batches_drawn, 5u);
  const auto expected = draw(original, 7);

  // A fresh batcher (as after a crash) with a different seed, moved to the saved state.
  RandomBatcher resumed(source, 8, 16, 0, 2, 3);
  resumed.set_state(saved);
  EXPECT_TRUE(same(draw(resumed, 7), expected));
  EXPECT_EQ(resumed.state().batches_drawn, 12u);
}

TEST(RandomBatcher, RejectsBadArguments) {
  const auto source = VectorSource::positions(10);
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { RandomBatcher b(source, 1, 10, 0); }),
                                "<memory>: 10 tokens is too few for one window of seq_len + 1 = 11"));
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { RandomBatcher b(source, 1, 4, 0, 2, 2); }),
                                "rank 2 is not in [0, world_size = 2)"));
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { RandomBatcher b(source, 0, 4, 0); }),
                                "batch_size and seq_len must be >= 1"));
}

}  // namespace
}  // namespace krait::data
