// tests/data/test_window_sampler.cpp — windows cut from a SequenceSet: WindowIndex (counting and
// locating windows, skipping short records, its errors), WindowSampler (language-model and
// classification rows, uniform starts, per-rank streams, exact resume, reverse complement) and
// WindowEvalPass (every non-overlapping window once across ranks, fixed shuffled order, caps).
//
// Most sets here give record r the ids r * 100 + position, so a row's first id names its record and
// start.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "common/rng.h"
#include "data/dna_tokenizer.h"
#include "data/window_sampler.h"
#include "tests/data/batch_compare.h"
#include "tests/data/error_text.h"

namespace krait::data {
namespace {

using testing::draw;
using testing::draw_stacked;
using testing::same;

constexpr int32_t kStride = 100;  // record r holds r * kStride + position

using Window = std::pair<size_t, uint64_t>;  // (record, start)

// Records of the given lengths (each < kStride), ids r * kStride + position, labels if given.
InMemorySequenceSet positional_set(const std::vector<size_t>& lengths, const std::vector<int32_t>& labels = {},
                                   std::vector<std::string> classes = {}) {
  std::vector<SequenceRecord> records;
  for (size_t r = 0; r < lengths.size(); ++r) {
    SequenceRecord record;
    record.name = "rec" + std::to_string(r);
    record.label = labels.empty() ? kNoLabel : labels[r];
    for (size_t p = 0; p < lengths[r]; ++p) record.ids.push_back(static_cast<uint16_t>(r * kStride + p));
    records.push_back(std::move(record));
  }
  return InMemorySequenceSet("mem/positional.h5", static_cast<uint32_t>(lengths.size() * kStride),
                             std::move(classes), std::move(records));
}

Window window_of(int32_t first_id) {
  return {static_cast<size_t>(first_id / kStride), static_cast<uint64_t>(first_id % kStride)};
}

std::vector<int32_t> row_of(const std::vector<int32_t>& ids, const Batch& batch, int64_t row) {
  const auto begin = ids.begin() + static_cast<std::ptrdiff_t>(row * batch.seq_len);
  return {begin, begin + static_cast<std::ptrdiff_t>(batch.seq_len)};
}

WindowOptions lm(int64_t batch_size, int64_t seq_len) {
  WindowOptions o;
  o.batch_size = batch_size;
  o.seq_len = seq_len;
  return o;
}

WindowOptions classify(int64_t batch_size, int64_t seq_len) {
  WindowOptions o = lm(batch_size, seq_len);
  o.classify = true;
  return o;
}

// ---------------------------------------------------------------------------------------------
// WindowIndex

TEST(WindowIndex, CountsWindowsOfUsableRecordsAndLocatesEveryOne) {
  const std::vector<size_t> lengths = {10, 3, 25, 5, 0, 7, 4};
  const auto set = positional_set(lengths);
  for (int64_t span : {1, 2, 5, 7, 10, 25}) {
    SCOPED_TRACE("span " + std::to_string(span));
    std::vector<Window> expected;  // every (record, start), records in order
    for (size_t r = 0; r < lengths.size(); ++r) {
      for (uint64_t s = 0; s + static_cast<uint64_t>(span) <= lengths[r]; ++s) expected.emplace_back(r, s);
    }
    const WindowIndex index(set, span);
    ASSERT_EQ(index.total(), expected.size());
    for (uint64_t i = 0; i < index.total(); ++i) EXPECT_EQ(index.locate(i), expected[i]) << "window " << i;
  }
}

TEST(WindowIndex, TotalIsTheSumOfLengthMinusSpanPlusOne) {
  // span 5: 10 -> 6, 3 -> skipped, 25 -> 21, 5 -> 1, 4 -> skipped.
  const auto set = positional_set({10, 3, 25, 5, 4});
  EXPECT_EQ(WindowIndex(set, 5).total(), 6u + 21u + 1u);
  // A record exactly one window long has one; the short ones are never located.
  const WindowIndex index(set, 5);
  std::set<size_t> records;
  for (uint64_t i = 0; i < index.total(); ++i) records.insert(index.locate(i).first);
  EXPECT_EQ(records, (std::set<size_t>{0, 2, 3}));
}

TEST(WindowIndex, SpanLongerThanEveryRecordNamesThePathAndTheLongest) {
  const auto set = positional_set({10, 3, 17, 5});
  const std::string message = testing::error_text([&] { WindowIndex index(set, 18); });
  EXPECT_TRUE(testing::mentions(message, "mem/positional.h5"));
  EXPECT_TRUE(testing::mentions(message, "a window of 18 ids is longer than every record"));
  EXPECT_TRUE(testing::mentions(message, "the longest holds 17"));
  EXPECT_EQ(WindowIndex(set, 17).total(), 1u);
}

TEST(WindowIndex, EmptySetIsAnError) {
  const InMemorySequenceSet empty("mem/empty.h5", 4, {}, {});
  const std::string message = testing::error_text([&] { WindowIndex index(empty, 1); });
  EXPECT_TRUE(testing::mentions(message, "mem/empty.h5: the dataset holds no records"));
}

// ---------------------------------------------------------------------------------------------
// WindowSampler, language modelling

TEST(WindowSampler, LmRowsAreWindowsOfOneRecordWithTargetsShiftedByOne) {
  const std::vector<size_t> lengths = {12, 4, 30, 6, 9};
  const auto set = positional_set(lengths);
  WindowSampler sampler(set, lm(5, 5), 11);
  std::set<Window> seen;
  for (const Batch& batch : draw(sampler, 400)) {
    ASSERT_EQ(batch.batch_size, 5);
    ASSERT_EQ(batch.seq_len, 5);
    ASSERT_EQ(batch.inputs.size(), 25u);
    ASSERT_EQ(batch.targets.size(), 25u);
    EXPECT_TRUE(batch.labels.empty());
    EXPECT_TRUE(batch.lengths.empty());
    for (int64_t row = 0; row < 5; ++row) {
      const auto inputs = row_of(batch.inputs, batch, row), targets = row_of(batch.targets, batch, row);
      const auto [record, start] = window_of(inputs[0]);
      seen.emplace(record, start);
      ASSERT_LT(record, lengths.size());
      // The last target, start + seq_len, is still inside the record.
      EXPECT_LT(start + 5, lengths[record]) << "record " << record << " start " << start;
      for (int t = 0; t < 5; ++t) {
        EXPECT_EQ(inputs[static_cast<size_t>(t)], inputs[0] + t);
        EXPECT_EQ(targets[static_cast<size_t>(t)], inputs[0] + t + 1);
      }
    }
  }
  // 2000 draws over 7 + 25 + 1 + 4 = 37 windows reach every one of them; records 1 (4 ids) never.
  EXPECT_EQ(seen.size(), 37u);
  EXPECT_TRUE(seen.count({3, 0}));   // the 6-id record: exactly one window
  EXPECT_TRUE(seen.count({2, 24}));  // the last start of the 30-id record
  for (const auto& [record, start] : seen) EXPECT_NE(record, 1u);
}

TEST(WindowSampler, StartsAreUniformOverEveryWindowOfTheSet) {
  // 6 + 21 + 3 = 30 windows of 5 ids; uniform over windows, not over records.
  const std::vector<size_t> lengths = {10, 3, 25, 7};
  const auto set = positional_set(lengths);
  WindowSampler sampler(set, lm(10, 4), 2024);
  std::map<Window, int> counts;
  const int batches = 3000;  // 30000 rows, 1000 expected per window
  for (const Batch& batch : draw(sampler, batches)) {
    for (int64_t row = 0; row < batch.batch_size; ++row) ++counts[window_of(batch.inputs[static_cast<size_t>(row * 4)])];
  }
  ASSERT_EQ(counts.size(), 30u);
  const double expected = batches * 10 / 30.0;
  double chi_square = 0;
  std::map<size_t, int> per_record;
  for (const auto& [window, n] : counts) {
    chi_square += (n - expected) * (n - expected) / expected;
    per_record[window.first] += n;
  }
  // 29 degrees of freedom: mean 29, sd 7.6; 75 is far in the tail (p < 1e-5).
  EXPECT_LT(chi_square, 75.0);
  // Records are drawn in proportion to their windows (6 : 21 : 3), not equally.
  EXPECT_NEAR(per_record[0] / 30000.0, 6 / 30.0, 0.015);
  EXPECT_NEAR(per_record[2] / 30000.0, 21 / 30.0, 0.015);
  EXPECT_NEAR(per_record[3] / 30000.0, 3 / 30.0, 0.015);
}

TEST(WindowSampler, RestoredStateContinuesIdentically) {
  const auto set = positional_set({40, 13, 60});
  WindowSampler original(set, lm(4, 8), 99, 1, 2);
  draw(original, 6);
  const SamplerState saved = original.state();
  EXPECT_EQ(saved.batches_drawn, 6u);
  const auto expected = draw(original, 9);

  // A fresh sampler (as after a crash) with another seed, moved to the saved state.
  WindowSampler resumed(set, lm(4, 8), 12345, 1, 2);
  resumed.set_state(saved);
  EXPECT_EQ(resumed.state().batches_drawn, 6u);
  EXPECT_TRUE(same(draw(resumed, 9), expected));
  EXPECT_EQ(resumed.state().batches_drawn, 15u);

  // And the original, set back, repeats itself.
  original.set_state(saved);
  EXPECT_TRUE(same(draw(original, 9), expected));
}

TEST(WindowSampler, RestoredStateContinuesIdenticallyWithReverseComplement) {
  Rng rng(5);
  SequenceRecord record{"r", kNoLabel, {}};
  for (int i = 0; i < 500; ++i) record.ids.push_back(static_cast<uint16_t>(rng.below(4)));
  const InMemorySequenceSet set("mem/dna.h5", DnaTokenizer::kVocabSize, {}, {record});
  WindowOptions options = lm(3, 16);
  options.complement = DnaTokenizer::complement_table();
  WindowSampler original(set, options, 7);
  draw(original, 4);
  const SamplerState saved = original.state();
  const auto expected = draw(original, 10);
  WindowSampler resumed(set, options, 8);
  resumed.set_state(saved);
  EXPECT_TRUE(same(draw(resumed, 10), expected));
}

TEST(WindowSampler, SameSeedSameStreamOtherSeedOrRankAnother) {
  const auto set = positional_set({50, 70, 20, 90});
  WindowSampler a(set, lm(8, 6), 42), b(set, lm(8, 6), 42), c(set, lm(8, 6), 43);
  const auto from_a = draw(a, 10);
  EXPECT_TRUE(same(from_a, draw(b, 10)));
  EXPECT_FALSE(same(from_a, draw(c, 10)));

  // One stream for all ranks: the ranks' rows stacked are the global micro-batch of one rank.
  WindowSampler rank0(set, lm(8, 6), 42, 0, 3), rank1(set, lm(8, 6), 42, 1, 3), rank2(set, lm(8, 6), 42, 2, 3);
  WindowSampler solo(set, lm(24, 6), 42);
  EXPECT_TRUE(same(draw_stacked({&rank0, &rank1, &rank2}, 10), draw(solo, 10)));
  EXPECT_FALSE(same(draw(rank0, 1), draw(rank1, 1)));
}

TEST(WindowSampler, RanksSliceOneStreamWithFlipsAndLabels) {
  Rng rng(3);
  std::vector<SequenceRecord> records;
  for (int32_t label = 0; label < 3; ++label) {
    records.push_back({"r" + std::to_string(label), label, {}});
    for (int i = 0; i < 300; ++i) records.back().ids.push_back(static_cast<uint16_t>(rng.below(4)));
  }
  const InMemorySequenceSet set("mem/dna.h5", DnaTokenizer::kVocabSize, {"a", "b", "c"}, records);
  WindowOptions per_rank = classify(4, 16), whole = classify(8, 16);
  per_rank.complement = whole.complement = DnaTokenizer::complement_table();
  WindowSampler rank0(set, per_rank, 7, 0, 2), rank1(set, per_rank, 7, 1, 2), solo(set, whole, 7);
  EXPECT_TRUE(same(draw_stacked({&rank0, &rank1}, 12), draw(solo, 12)));
}

TEST(WindowSampler, RejectsBadOptions) {
  const auto set = positional_set({10, 20});
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { WindowSampler s(set, lm(0, 4), 0); }),
                                "mem/positional.h5: batch_size and seq_len must be >= 1, found 0 and 4"));
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { WindowSampler s(set, lm(2, 0), 0); }),
                                "batch_size and seq_len must be >= 1, found 2 and 0"));
  // A negative seq_len is reported as such, not as a window longer than every record.
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { WindowSampler s(set, lm(2, -5), 0); }),
                                "batch_size and seq_len must be >= 1, found 2 and -5"));
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { WindowSampler s(set, lm(2, 4), 0, 3, 3); }),
                                "rank 3 is not in [0, world_size = 3)"));
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { WindowSampler s(set, lm(2, 4), 0, -1, 3); }),
                                "rank -1 is not in [0, world_size = 3)"));
  // LM windows are seq_len + 1 ids: a seq_len of 20 does not fit the 20-id record.
  const std::string message = testing::error_text([&] { WindowSampler s(set, lm(2, 20), 0); });
  EXPECT_TRUE(testing::mentions(message, "mem/positional.h5: a window of 21 ids is longer than every record"));
  EXPECT_TRUE(testing::mentions(message, "the longest holds 20"));
}

// ---------------------------------------------------------------------------------------------
// WindowSampler, classification

TEST(WindowSampler, ClassifyRowsAreSeqLenIdsWithTheRecordsLabel) {
  const std::vector<size_t> lengths = {9, 6, 12, 5, 8};
  const std::vector<int32_t> labels = {2, 0, 1, 1, 0};
  const auto set = positional_set(lengths, labels, {"zero", "one", "two"});
  WindowSampler sampler(set, classify(4, 6), 3);
  std::set<Window> seen;
  for (const Batch& batch : draw(sampler, 300)) {
    ASSERT_EQ(batch.batch_size, 4);
    ASSERT_EQ(batch.seq_len, 6);
    ASSERT_EQ(batch.inputs.size(), 24u);  // seq_len ids per row, not seq_len + 1
    ASSERT_EQ(batch.labels.size(), 4u);
    EXPECT_TRUE(batch.targets.empty());
    EXPECT_TRUE(batch.is_classification());
    for (int64_t row = 0; row < 4; ++row) {
      const auto inputs = row_of(batch.inputs, batch, row);
      const auto [record, start] = window_of(inputs[0]);
      seen.emplace(record, start);
      EXPECT_LE(start + 6, lengths[record]);
      for (int t = 0; t < 6; ++t) EXPECT_EQ(inputs[static_cast<size_t>(t)], inputs[0] + t);
      EXPECT_EQ(batch.labels[static_cast<size_t>(row)], labels[record]);
    }
  }
  // A classification window may end at a record's last id: the 6-id record has one window, the 5-id
  // record none; 4 + 1 + 7 + 3 = 15 in all.
  EXPECT_EQ(seen.size(), 15u);
  EXPECT_TRUE(seen.count({1, 0}));
  EXPECT_TRUE(seen.count({2, 6}));
  for (const auto& [record, start] : seen) EXPECT_NE(record, 3u);
}

TEST(WindowSampler, ClassifyNeedsALabeledSet) {
  const auto set = positional_set({10, 20});
  const std::string message = testing::error_text([&] { WindowSampler s(set, classify(2, 4), 0); });
  EXPECT_TRUE(testing::mentions(message, "mem/positional.h5: classification needs labeled records"));
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { WindowEvalPass p(set, classify(2, 4)); }),
                                "classification needs labeled records"));
}

// ---------------------------------------------------------------------------------------------
// WindowSampler, reverse complement

std::vector<int32_t> reverse_complement(std::vector<int32_t> ids) {
  DnaTokenizer::reverse_complement(ids);
  return ids;
}

// Random bases in two records, long enough that every window of `span` is unique and no window is
// the reverse complement of another (checked), so a row tells its strand and place.
struct DnaFixture {
  explicit DnaFixture(int64_t span) : span(span) {
    Rng rng(31337);
    std::vector<SequenceRecord> records;
    for (size_t r = 0; r < 2; ++r) {
      SequenceRecord record{"chr" + std::to_string(r), static_cast<int32_t>(r), {}};
      const size_t n = r == 0 ? 300 : 150;
      for (size_t i = 0; i < n; ++i) record.ids.push_back(static_cast<uint16_t>(rng.below(4)));
      for (uint64_t s = 0; s + static_cast<uint64_t>(span) <= n; ++s) {
        std::vector<int32_t> w(record.ids.begin() + static_cast<std::ptrdiff_t>(s),
                               record.ids.begin() + static_cast<std::ptrdiff_t>(s) + span);
        forward.emplace(std::move(w), Window{r, s});
      }
      records.push_back(std::move(record));
    }
    set = std::make_unique<InMemorySequenceSet>("mem/dna.h5", DnaTokenizer::kVocabSize,
                                                std::vector<std::string>{"a", "b"}, std::move(records));
  }
  // Checks the fixture's premise: all windows distinct and none a reverse complement of another.
  bool unambiguous() const {
    if (forward.size() != 300 - static_cast<size_t>(span) + 1 + 150 - static_cast<size_t>(span) + 1) return false;
    for (const auto& [w, where] : forward) {
      if (forward.count(reverse_complement(w))) return false;
    }
    return true;
  }
  int64_t span;
  std::unique_ptr<InMemorySequenceSet> set;
  std::map<std::vector<int32_t>, Window> forward;
};

TEST(WindowSampler, ReverseComplementFlipsAboutHalfTheLmWindowsAlongTheReverseStrand) {
  const int64_t seq_len = 15;
  DnaFixture dna(seq_len + 1);
  ASSERT_TRUE(dna.unambiguous());
  WindowOptions options = lm(8, seq_len);
  options.complement = DnaTokenizer::complement_table();
  WindowSampler sampler(*dna.set, options, 77);
  int flipped = 0, rows = 0;
  std::set<Window> flipped_windows;
  for (const Batch& batch : draw(sampler, 250)) {
    for (int64_t row = 0; row < batch.batch_size; ++row, ++rows) {
      const auto inputs = row_of(batch.inputs, batch, row), targets = row_of(batch.targets, batch, row);
      // On either strand the targets are the inputs shifted by one.
      for (int64_t t = 0; t + 1 < seq_len; ++t)
        ASSERT_EQ(targets[static_cast<size_t>(t)], inputs[static_cast<size_t>(t + 1)]);
      // inputs then the last target: the seq_len + 1 ids the row was cut from.
      std::vector<int32_t> span_ids = inputs;
      span_ids.push_back(targets.back());
      if (dna.forward.count(span_ids)) continue;
      // Not a forward window, so it must be the reverse complement of one: read on the reverse
      // strand, inputs[t + 1] follows inputs[t] and the last target follows the last input.
      const auto it = dna.forward.find(reverse_complement(span_ids));
      ASSERT_NE(it, dna.forward.end()) << "row " << rows << " is neither a window nor a reverse-complemented one";
      flipped_windows.insert(it->second);
      ++flipped;
    }
  }
  // 2000 fair coin flips: mean 1000, sd 22.
  EXPECT_EQ(rows, 2000);
  EXPECT_GT(flipped, 900);
  EXPECT_LT(flipped, 1100);
  // Flips reach most of the 420 windows, in both records.
  EXPECT_GT(flipped_windows.size(), 300u);
  EXPECT_TRUE(std::any_of(flipped_windows.begin(), flipped_windows.end(), [](const Window& w) { return w.first == 1; }));
}

TEST(WindowSampler, ReverseComplementInClassificationKeepsTheLabel) {
  const int64_t seq_len = 12;
  DnaFixture dna(seq_len);
  ASSERT_TRUE(dna.unambiguous());
  WindowOptions options = classify(8, seq_len);
  options.complement = DnaTokenizer::complement_table();
  WindowSampler sampler(*dna.set, options, 78);
  int flipped = 0, rows = 0;
  for (const Batch& batch : draw(sampler, 125)) {
    ASSERT_EQ(batch.labels.size(), 8u);
    for (int64_t row = 0; row < batch.batch_size; ++row, ++rows) {
      const auto inputs = row_of(batch.inputs, batch, row);
      auto it = dna.forward.find(inputs);
      if (it == dna.forward.end()) {
        it = dna.forward.find(reverse_complement(inputs));
        ASSERT_NE(it, dna.forward.end());
        ++flipped;
      }
      EXPECT_EQ(batch.labels[static_cast<size_t>(row)], static_cast<int32_t>(it->second.first));
    }
  }
  EXPECT_EQ(rows, 1000);
  EXPECT_GT(flipped, 420);
  EXPECT_LT(flipped, 580);
}

TEST(WindowSampler, NoComplementTableNoFlips) {
  const int64_t seq_len = 15;
  DnaFixture dna(seq_len + 1);
  ASSERT_TRUE(dna.unambiguous());
  WindowSampler sampler(*dna.set, lm(8, seq_len), 77);
  for (const Batch& batch : draw(sampler, 50)) {
    for (int64_t row = 0; row < batch.batch_size; ++row) {
      std::vector<int32_t> span_ids = row_of(batch.inputs, batch, row);
      span_ids.push_back(batch.targets[static_cast<size_t>((row + 1) * seq_len - 1)]);
      EXPECT_TRUE(dna.forward.count(span_ids));
    }
  }
}

TEST(WindowSampler, ComplementTableMustFitTheVocabulary) {
  DnaFixture dna(8);
  WindowOptions options = lm(2, 7);
  options.complement = {3, 2, 1, 0};  // 4 entries for a vocabulary of 7
  const std::string message = testing::error_text([&] { WindowSampler s(*dna.set, options, 0); });
  EXPECT_TRUE(testing::mentions(message, "mem/dna.h5: the complement table has 4 entries for a vocabulary of 7"));

  // Right size, but an entry outside the vocabulary would put out-of-vocabulary ids in the batch.
  options.complement = DnaTokenizer::complement_table();
  options.complement[2] = 7;
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { WindowSampler s(*dna.set, options, 0); }),
                                "mem/dna.h5: the complement table maps 2 to 7, not in [0, 7)"));
  options.complement[2] = -1;
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { WindowSampler s(*dna.set, options, 0); }),
                                "the complement table maps 2 to -1"));
}

// ---------------------------------------------------------------------------------------------
// WindowEvalPass

std::vector<Batch> run_pass(EvalPass& pass) {
  std::vector<Batch> batches;
  Batch batch;
  while (pass.next(batch)) batches.push_back(batch);
  return batches;
}

// The (record, start) of every row of every batch, in order.
std::vector<Window> windows_in(const std::vector<Batch>& batches) {
  std::vector<Window> out;
  for (const Batch& b : batches) {
    for (int64_t row = 0; row < b.batch_size; ++row) out.push_back(window_of(b.inputs[static_cast<size_t>(row * b.seq_len)]));
  }
  return out;
}

TEST(WindowEvalPass, CoversEveryNonOverlappingWindowOnceAcrossRanks) {
  const std::vector<size_t> lengths = {23, 4, 41, 5, 17, 9};
  const auto set = positional_set(lengths);
  const int64_t seq_len = 4;
  // LM windows: starts 0, 4, 8, ... with start + 5 <= length.
  std::multiset<Window> expected_set;
  for (size_t r = 0; r < lengths.size(); ++r) {
    for (uint64_t s = 0; s + 5 <= lengths[r]; s += 4) expected_set.emplace(r, s);
  }
  ASSERT_EQ(expected_set.size(), 5u + 0u + 10u + 1u + 4u + 2u);
  for (int world : {1, 2, 3}) {
    for (int64_t batch_size : {1, 3, 4}) {
      SCOPED_TRACE("world " + std::to_string(world) + " batch " + std::to_string(batch_size));
      std::multiset<Window> seen;
      for (int rank = 0; rank < world; ++rank) {
        WindowEvalPass pass(set, lm(batch_size, seq_len), rank, world);
        const auto batches = run_pass(pass);
        uint64_t rows = 0;
        for (size_t i = 0; i < batches.size(); ++i) {
          const Batch& b = batches[i];
          ASSERT_EQ(b.seq_len, seq_len);
          if (i + 1 < batches.size()) {
            EXPECT_EQ(b.batch_size, batch_size) << "only the last batch may be short";
          }
          EXPECT_GE(b.batch_size, 1);
          EXPECT_LE(b.batch_size, batch_size);
          ASSERT_EQ(b.inputs.size(), static_cast<size_t>(b.batch_size * seq_len));
          ASSERT_EQ(b.targets.size(), static_cast<size_t>(b.batch_size * seq_len));
          for (int64_t row = 0; row < b.batch_size; ++row) {
            for (int64_t t = 0; t < seq_len; ++t) {
              const size_t k = static_cast<size_t>(row * seq_len + t);
              EXPECT_EQ(b.inputs[k], b.inputs[static_cast<size_t>(row * seq_len)] + t);
              EXPECT_EQ(b.targets[k], b.inputs[k] + 1);
            }
          }
          rows += static_cast<uint64_t>(b.batch_size);
        }
        EXPECT_EQ(rows, pass.rank_windows());
        for (const Window& w : windows_in(batches)) seen.insert(w);
      }
      EXPECT_EQ(seen, expected_set);
    }
  }
}

TEST(WindowEvalPass, ClassifyWindowsTileEachRecordAndCarryItsLabel) {
  const std::vector<size_t> lengths = {12, 5, 17, 6};
  const std::vector<int32_t> labels = {1, 0, 2, 0};
  const auto set = positional_set(lengths, labels, {"x", "y", "z"});
  WindowEvalPass pass(set, classify(3, 6));
  std::multiset<Window> seen;
  for (const Batch& b : run_pass(pass)) {
    ASSERT_EQ(b.inputs.size(), static_cast<size_t>(b.batch_size * 6));
    ASSERT_EQ(b.labels.size(), static_cast<size_t>(b.batch_size));
    EXPECT_TRUE(b.targets.empty());
    for (int64_t row = 0; row < b.batch_size; ++row) {
      const Window w = window_of(b.inputs[static_cast<size_t>(row * 6)]);
      seen.insert(w);
      EXPECT_EQ(b.labels[static_cast<size_t>(row)], labels[w.first]);
    }
  }
  // Starts 0, 6, ... with start + 6 <= length: a window may end at the record's last id.
  EXPECT_EQ(seen, (std::multiset<Window>{{0, 0}, {0, 6}, {2, 0}, {2, 6}, {3, 0}}));
}

TEST(WindowEvalPass, OrderIsShuffledAndTheSameOnEveryConstruction) {
  const auto set = positional_set({90, 90, 90});
  WindowEvalPass a(set, lm(4, 5)), b(set, lm(4, 5));
  const auto order = windows_in(run_pass(a));
  EXPECT_EQ(order, windows_in(run_pass(b)));
  EXPECT_EQ(order.size(), 3u * 17u);
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end()));
  // Rank r of 3 takes windows r, r + 3, ... of the single-rank order.
  for (int rank = 0; rank < 3; ++rank) {
    WindowEvalPass part(set, lm(4, 5), rank, 3);
    std::vector<Window> expected;
    for (size_t i = static_cast<size_t>(rank); i < order.size(); i += 3) expected.push_back(order[i]);
    EXPECT_EQ(windows_in(run_pass(part)), expected) << "rank " << rank;
  }
}

TEST(WindowEvalPass, MaxBatchesCapsEachRank) {
  const auto set = positional_set({90, 90, 90});  // 51 windows of 5
  std::set<Window> seen;
  for (int rank = 0; rank < 2; ++rank) {
    WindowEvalPass pass(set, lm(3, 5), rank, 2, 4);
    const auto batches = run_pass(pass);
    EXPECT_EQ(batches.size(), 4u);
    EXPECT_EQ(pass.rank_windows(), 12u);
    for (const Batch& b : batches) EXPECT_EQ(b.batch_size, 3);
    for (const Window& w : windows_in(batches)) EXPECT_TRUE(seen.insert(w).second) << "window seen twice";
  }
  EXPECT_EQ(seen.size(), 24u);
  // A cap above the pass's length changes nothing.
  WindowEvalPass uncapped(set, lm(3, 5)), loose(set, lm(3, 5), 0, 1, 1000);
  EXPECT_EQ(windows_in(run_pass(uncapped)), windows_in(run_pass(loose)));
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { WindowEvalPass p(set, lm(3, 5), 0, 1, -1); }),
                                "max_batches must be >= 0"));
}

TEST(WindowEvalPass, CappedPassSeesEveryClass) {
  // Records in class order, 30 windows each: an unshuffled capped pass would see class 0 only.
  const auto set = positional_set({60, 60, 60, 60, 60, 60}, {0, 0, 1, 1, 2, 2}, {"a", "b", "c"});
  for (int rank = 0; rank < 2; ++rank) {
    WindowEvalPass pass(set, classify(5, 6), rank, 2, 3);
    std::set<int32_t> classes;
    const auto batches = run_pass(pass);
    EXPECT_EQ(batches.size(), 3u);
    for (const Batch& b : batches) classes.insert(b.labels.begin(), b.labels.end());
    EXPECT_EQ(classes, (std::set<int32_t>{0, 1, 2})) << "rank " << rank;
  }
}

TEST(WindowEvalPass, LastBatchMayBeShort) {
  const auto set = positional_set({36});  // LM windows of 5 at 0, 4, ..., 28: 8 of them
  WindowEvalPass pass(set, lm(3, 4));
  const auto batches = run_pass(pass);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].batch_size, 3);
  EXPECT_EQ(batches[1].batch_size, 3);
  EXPECT_EQ(batches[2].batch_size, 2);
  EXPECT_EQ(batches[2].inputs.size(), 8u);
  EXPECT_EQ(batches[2].targets.size(), 8u);
  // Past the end it stays over.
  Batch batch;
  EXPECT_FALSE(pass.next(batch));
  EXPECT_FALSE(pass.next(batch));
}

TEST(WindowEvalPass, ResetRestartsThePass) {
  const auto set = positional_set({50, 33, 70});
  WindowEvalPass pass(set, lm(4, 6), 1, 2);
  const auto first = run_pass(pass);
  ASSERT_FALSE(first.empty());
  pass.reset();
  const auto second = run_pass(pass);
  EXPECT_EQ(windows_in(first), windows_in(second));
  // A reset in the middle starts over too.
  pass.reset();
  Batch batch;
  ASSERT_TRUE(pass.next(batch));
  ASSERT_TRUE(pass.next(batch));
  pass.reset();
  EXPECT_EQ(windows_in(run_pass(pass)), windows_in(first));
}

TEST(WindowEvalPass, IgnoresTheComplementTable) {
  const auto set = positional_set({50, 33});
  WindowOptions options = lm(4, 6);
  options.complement = std::vector<int32_t>(3, 0);  // would be rejected by a sampler
  WindowEvalPass with(set, options), without(set, lm(4, 6));
  const auto a = run_pass(with), b = run_pass(without);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].inputs, b[i].inputs);
}

TEST(WindowEvalPass, MoreRanksThanWindowsLeavesSomeRanksEmpty) {
  const auto set = positional_set({10});  // LM windows of 5 at 0 and 4
  std::multiset<Window> seen;
  for (int rank = 0; rank < 3; ++rank) {
    WindowEvalPass pass(set, lm(2, 4), rank, 3);
    for (const Window& w : windows_in(run_pass(pass))) seen.insert(w);
    EXPECT_EQ(pass.rank_windows(), rank < 2 ? 1u : 0u);
  }
  EXPECT_EQ(seen, (std::multiset<Window>{{0, 0}, {0, 4}}));
}

TEST(WindowEvalPass, WindowLongerThanEveryRecordIsAnError) {
  const auto set = positional_set({10, 8});
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { WindowEvalPass p(set, lm(1, 10)); }),
                                "mem/positional.h5: a window of 11 ids is longer than every record"));
}

}  // namespace
}  // namespace krait::data
