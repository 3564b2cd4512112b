// tests/data/test_synthetic_tasks.cpp — the Mamba paper's synthetic tasks: the layout of selective
// copying and induction-heads rows, option errors, the training stream (determinism, one global
// stream sliced by rank, exact resume) and the fixed evaluation set strided across ranks.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "data/synthetic_tasks.h"
#include "tests/data/batch_compare.h"
#include "tests/data/error_text.h"

namespace krait::data {
namespace {

using testing::draw;
using testing::draw_stacked;
using testing::same;
using testing::same_batch;
using testing::same_state;

SyntheticOptions copying(int64_t seq_len = 64, int64_t copy_tokens = 8, int64_t vocab = 16) {
  return {SyntheticTask::SelectiveCopying, seq_len, vocab, copy_tokens};
}
SyntheticOptions induction(int64_t seq_len = 32, int64_t vocab = 16) {
  return {SyntheticTask::InductionHeads, seq_len, vocab, 16};
}

std::vector<int32_t> row_of(const std::vector<int32_t>& v, const Batch& b, int64_t row) {
  return {v.begin() + row * b.seq_len, v.begin() + (row + 1) * b.seq_len};
}

// Checks one selective-copying row; returns the positions of its data tokens.
std::vector<int64_t> check_copying_row(const SyntheticOptions& o, const Batch& b, int64_t row) {
  const auto in = row_of(b.inputs, b, row), tg = row_of(b.targets, b, row);
  const int64_t input_len = o.seq_len - o.copy_tokens;
  const auto separator = static_cast<int32_t>(o.vocab_size - 1);
  std::vector<int64_t> positions;
  std::vector<int32_t> data;
  for (int64_t i = 0; i < input_len; ++i) {
    EXPECT_EQ(tg[i], kIgnoreId) << "row " << row << " position " << i;
    EXPECT_NE(in[i], separator) << "row " << row << " position " << i;
    EXPECT_GE(in[i], 0);
    if (in[i] != 0) {
      EXPECT_LE(in[i], o.vocab_size - 2);
      positions.push_back(i);
      data.push_back(in[i]);
    }
  }
  EXPECT_EQ(static_cast<int64_t>(data.size()), o.copy_tokens) << "row " << row;
  for (int64_t i = input_len; i < o.seq_len; ++i) EXPECT_EQ(in[i], separator) << "row " << row << " position " << i;
  const std::vector<int32_t> answers(tg.begin() + input_len, tg.end());
  EXPECT_EQ(answers, data) << "row " << row;
  return positions;
}

// Checks one induction-heads row; returns the first trigger's position.
int64_t check_induction_row(const SyntheticOptions& o, const Batch& b, int64_t row) {
  const auto in = row_of(b.inputs, b, row), tg = row_of(b.targets, b, row);
  const auto trigger = static_cast<int32_t>(o.vocab_size - 1);
  std::vector<int64_t> triggers;
  for (int64_t i = 0; i < o.seq_len; ++i) {
    EXPECT_GE(in[i], 0);
    EXPECT_LE(in[i], trigger);
    if (in[i] == trigger) triggers.push_back(i);
    if (i + 1 < o.seq_len) {
      EXPECT_EQ(tg[i], kIgnoreId) << "row " << row << " position " << i;
    }
  }
  EXPECT_EQ(triggers.size(), 2u) << "row " << row;
  if (triggers.size() != 2) return -1;
  EXPECT_LT(triggers[0], o.seq_len / 2);
  EXPECT_EQ(triggers[1], o.seq_len - 1);
  EXPECT_EQ(tg[o.seq_len - 1], in[triggers[0] + 1]);
  EXPECT_NE(tg[o.seq_len - 1], trigger);
  return triggers[0];
}

TEST(SyntheticTasks, ParsesTaskNames) {
  EXPECT_EQ(parse_synthetic_task("selective-copying"), SyntheticTask::SelectiveCopying);
  EXPECT_EQ(parse_synthetic_task("induction-heads"), SyntheticTask::InductionHeads);
  EXPECT_STREQ(synthetic_task_name(SyntheticTask::InductionHeads), "induction-heads");
  EXPECT_TRUE(testing::mentions(testing::error_text([] { parse_synthetic_task("copying"); }),
                                "unknown synthetic task \"copying\""));
}

TEST(SyntheticTasks, SelectiveCopyingRows) {
  const auto o = copying(64, 8);
  Rng rng(5);
  Batch b;
  b.resize(200, o.seq_len);
  make_synthetic_rows(o, rng, b, 0, 200);
  std::set<std::vector<int64_t>> layouts;
  std::set<int64_t> used;
  std::set<int32_t> tokens;
  for (int64_t row = 0; row < 200; ++row) {
    const auto positions = check_copying_row(o, b, row);
    layouts.insert(positions);
    used.insert(positions.begin(), positions.end());
    for (int64_t i = 56; i < 64; ++i) tokens.insert(b.targets[static_cast<size_t>(row * 64 + i)]);
  }
  EXPECT_GT(layouts.size(), 190u);  // positions differ across rows
  EXPECT_EQ(used.size(), 56u);      // every position of the input part is used somewhere
  EXPECT_EQ(tokens.size(), 14u);    // every data token 1..14 appears
  EXPECT_EQ(*tokens.begin(), 1);
  EXPECT_EQ(*tokens.rbegin(), 14);
}

TEST(SyntheticTasks, SelectiveCopyingTightAndPaperSizes) {
  // seq_len = 2 x copy_tokens: the input part is all data tokens.
  const auto tight = copying(8, 4, 3);
  Rng rng(1);
  Batch b;
  b.resize(10, 8);
  make_synthetic_rows(tight, rng, b, 0, 10);
  for (int64_t row = 0; row < 10; ++row) {
    EXPECT_EQ(check_copying_row(tight, b, row), (std::vector<int64_t>{0, 1, 2, 3}));
    EXPECT_EQ(row_of(b.inputs, b, row), (std::vector<int32_t>{1, 1, 1, 1, 2, 2, 2, 2}));  // vocab 3: one data id
  }
  // The paper's setting: 4096 long, 16 tokens to memorize, vocab 16.
  const auto paper = copying(4096, 16, 16);
  b.resize(3, 4096);
  make_synthetic_rows(paper, rng, b, 0, 3);
  for (int64_t row = 0; row < 3; ++row) check_copying_row(paper, b, row);
}

TEST(SyntheticTasks, InductionHeadsRows) {
  for (int64_t seq_len : {4, 5, 32, 33}) {
    const auto o = induction(seq_len, 16);
    Rng rng(static_cast<uint64_t>(seq_len));
    Batch b;
    b.resize(300, seq_len);
    make_synthetic_rows(o, rng, b, 0, 300);
    std::set<int64_t> firsts;
    std::set<int32_t> answers;
    for (int64_t row = 0; row < 300; ++row) {
      firsts.insert(check_induction_row(o, b, row));
      answers.insert(b.targets[static_cast<size_t>(row * seq_len + seq_len - 1)]);
    }
    EXPECT_EQ(static_cast<int64_t>(firsts.size()), seq_len / 2) << seq_len;  // every first-half position
    EXPECT_EQ(*firsts.begin(), 0);
    EXPECT_EQ(answers.size(), 15u) << seq_len;  // every ordinary token 0..14 is an answer
  }
}

TEST(SyntheticTasks, RowsAreTheSameMadeTogetherOrOneByOne) {
  for (const auto& o : {copying(40, 6), induction(24)}) {
    Rng together(9), single(9);
    Batch a, b;
    a.resize(6, o.seq_len);
    b.resize(6, o.seq_len);
    make_synthetic_rows(o, together, a, 0, 6);
    for (int64_t row = 0; row < 6; ++row) make_synthetic_rows(o, single, b, row, 1);
    EXPECT_TRUE(same_batch(a, b));
    // A part of a batch leaves the other rows alone.
    Batch c;
    c.resize(4, o.seq_len);
    std::fill(c.inputs.begin(), c.inputs.end(), 7);
    Rng part(9);
    make_synthetic_rows(o, part, c, 1, 2);
    EXPECT_EQ(row_of(c.inputs, c, 0), std::vector<int32_t>(static_cast<size_t>(o.seq_len), 7));
    EXPECT_EQ(row_of(c.inputs, c, 1), row_of(a.inputs, a, 0));
    EXPECT_EQ(row_of(c.inputs, c, 2), row_of(a.inputs, a, 1));
    EXPECT_EQ(row_of(c.inputs, c, 3), std::vector<int32_t>(static_cast<size_t>(o.seq_len), 7));
  }
}

TEST(SyntheticTasks, RejectsBadOptions) {
  using testing::error_text;
  using testing::mentions;
  Rng rng(0);
  Batch b;
  b.resize(1, 16);
  EXPECT_TRUE(mentions(error_text([] { check_synthetic_options(copying(16, 16)); }),
                       "selective-copying: seq_len (16) must be greater than copy_tokens (16)"));
  EXPECT_TRUE(mentions(error_text([] { check_synthetic_options(copying(16, 9)); }),
                       "seq_len (16) must be at least 2 x copy_tokens (9)"));
  EXPECT_TRUE(mentions(error_text([] { check_synthetic_options(copying(16, 0)); }), "copy_tokens must be >= 1"));
  EXPECT_TRUE(mentions(error_text([] { check_synthetic_options(copying(16, 4, 2)); }),
                       "selective-copying: vocab_size must be >= 3"));
  EXPECT_TRUE(mentions(error_text([] { check_synthetic_options(induction(3)); }),
                       "induction-heads: seq_len must be >= 4, found 3"));
  EXPECT_TRUE(mentions(error_text([] { check_synthetic_options(induction(8, 2)); }),
                       "induction-heads: vocab_size must be >= 3"));
  EXPECT_NO_THROW(check_synthetic_options(copying(16, 8, 3)));
  EXPECT_NO_THROW(check_synthetic_options(induction(4, 3)));
  // The samplers check their options too.
  EXPECT_TRUE(mentions(error_text([] { SyntheticSampler s(copying(10, 8), 4, 0); }), "must be at least 2 x"));
  EXPECT_TRUE(mentions(error_text([] { SyntheticEvalPass p(induction(2), 4, 10, 0); }), "seq_len must be >= 4"));
  EXPECT_TRUE(mentions(error_text([] { SyntheticSampler s(induction(8), 0, 0); }), "batch_size must be >= 1"));
  EXPECT_TRUE(mentions(error_text([] { SyntheticSampler s(induction(8), 2, 0, 3, 3); }),
                       "rank 3 is not in [0, world_size = 3)"));
  EXPECT_TRUE(mentions(error_text([] { SyntheticEvalPass p(induction(8), 2, 0, 0); }), "examples must be >= 1"));
  // A batch not sized for the rows.
  EXPECT_TRUE(mentions(error_text([&] { make_synthetic_rows(copying(32, 8), rng, b, 0, 1); }),
                       "out.resize(rows, seq_len) first"));
  EXPECT_TRUE(mentions(error_text([&] { make_synthetic_rows(copying(16, 8), rng, b, 1, 1); }),
                       "rows [1, 2) of seq_len 16 do not fit a batch of 1 rows"));
}

TEST(SyntheticSampler, SameSeedGivesSameStream) {
  for (const auto& o : {copying(48, 8), induction(32)}) {
    SyntheticSampler a(o, 8, 42), b(o, 8, 42), c(o, 8, 43);
    const auto from_a = draw(a, 10);
    EXPECT_TRUE(same(from_a, draw(b, 10)));
    EXPECT_FALSE(same(from_a, draw(c, 10)));
    EXPECT_FALSE(same_batch(from_a[0], from_a[1]));
    for (const Batch& batch : from_a) {
      ASSERT_EQ(batch.batch_size, 8);
      ASSERT_EQ(batch.seq_len, o.seq_len);
      EXPECT_TRUE(batch.labels.empty() && batch.lengths.empty());
      for (int64_t row = 0; row < 8; ++row) {
        if (o.task == SyntheticTask::SelectiveCopying) check_copying_row(o, batch, row);
        else check_induction_row(o, batch, row);
      }
    }
  }
}

TEST(SyntheticSampler, RestoredStateContinuesIdentically) {
  const auto o = copying(64, 16);
  SyntheticSampler original(o, 8, 99, 2, 3);
  draw(original, 5);
  const SamplerState saved = original.state();
  EXPECT_EQ(saved.batches_drawn, 5u);
  const auto expected = draw(original, 7);
  SyntheticSampler resumed(o, 8, 0, 2, 3);  // another seed, moved to the saved state
  resumed.set_state(saved);
  EXPECT_TRUE(same(draw(resumed, 7), expected));
  EXPECT_TRUE(same_state(resumed.state(), original.state()));
  EXPECT_EQ(resumed.state().batches_drawn, 12u);
}

TEST(SyntheticSampler, RanksReadSlicesOfOneGlobalStream) {
  for (const auto& o : {copying(48, 8), induction(32)}) {
    SyntheticSampler rank0(o, 4, 7, 0, 3), rank1(o, 4, 7, 1, 3), rank2(o, 4, 7, 2, 3), solo(o, 12, 7);
    const auto global = draw(solo, 6);
    EXPECT_TRUE(same(draw_stacked({&rank0, &rank1, &rank2}, 6), global));
    EXPECT_TRUE(same_state(rank1.state(), solo.state()));
    // Two ranks of 6 resume from the single rank's state.
    SyntheticSampler half0(o, 6, 0, 0, 2), half1(o, 6, 0, 1, 2);
    half0.set_state(solo.state());
    half1.set_state(solo.state());
    EXPECT_TRUE(same(draw_stacked({&half0, &half1}, 4), draw(solo, 4)));
  }
}

std::vector<Batch> whole_pass(EvalPass& pass) {
  std::vector<Batch> out;
  Batch b;
  while (pass.next(b)) out.push_back(b);
  return out;
}

// Every row of a batch list as (inputs, targets) pairs, in order.
std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> rows_of(const std::vector<Batch>& batches) {
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> out;
  for (const Batch& b : batches)
    for (int64_t row = 0; row < b.batch_size; ++row) out.emplace_back(row_of(b.inputs, b, row), row_of(b.targets, b, row));
  return out;
}

TEST(SyntheticEvalPass, SameExamplesOnEveryConstruction) {
  const auto o = induction(32);
  SyntheticEvalPass a(o, 8, 50, 3), b(o, 8, 50, 3), c(o, 8, 50, 4);
  const auto from_a = whole_pass(a);
  EXPECT_TRUE(same(from_a, whole_pass(b)));
  EXPECT_FALSE(same(from_a, whole_pass(c)));
  ASSERT_EQ(from_a.size(), 7u);  // 6 x 8 + 2
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(from_a[i].batch_size, 8);
  EXPECT_EQ(from_a.back().batch_size, 2);
  EXPECT_EQ(from_a.back().inputs.size(), 64u);
  EXPECT_EQ(a.rank_examples(), 50);
  for (const Batch& batch : from_a)
    for (int64_t row = 0; row < batch.batch_size; ++row) check_induction_row(o, batch, row);
  // Not the training stream of the same seed.
  SyntheticSampler train(o, 8, 3);
  Batch first;
  train.next(first);
  EXPECT_NE(first.inputs, from_a[0].inputs);
}

TEST(SyntheticEvalPass, RanksCoverEveryExampleOnce) {
  const auto o = copying(40, 6);
  SyntheticEvalPass solo(o, 5, 23, 11);
  const auto all = rows_of(whole_pass(solo));
  ASSERT_EQ(all.size(), 23u);
  for (int world : {1, 2, 3}) {
    std::map<size_t, int> seen;  // example index -> times seen
    int64_t total = 0;
    for (int rank = 0; rank < world; ++rank) {
      SyntheticEvalPass pass(o, 4, 23, 11, rank, world);
      const auto batches = whole_pass(pass);
      const auto mine = rows_of(batches);
      EXPECT_EQ(static_cast<int64_t>(mine.size()), pass.rank_examples());
      total += pass.rank_examples();
      for (size_t j = 0; j < mine.size(); ++j) {
        const size_t example = static_cast<size_t>(rank) + j * static_cast<size_t>(world);
        ASSERT_LT(example, all.size());
        EXPECT_EQ(mine[j], all[example]) << "world " << world << " rank " << rank << " row " << j;
        ++seen[example];
      }
      for (size_t i = 0; i + 1 < batches.size(); ++i) EXPECT_EQ(batches[i].batch_size, 4);
      const int64_t last = pass.rank_examples() % 4;
      EXPECT_EQ(batches.back().batch_size, last == 0 ? 4 : last);
    }
    EXPECT_EQ(total, 23);
    EXPECT_EQ(seen.size(), 23u) << "world " << world;
    for (const auto& [example, times] : seen) EXPECT_EQ(times, 1) << "example " << example;
  }
}

TEST(SyntheticEvalPass, ResetRestartsAndDoneLeavesBatchAlone) {
  const auto o = copying(32, 4);
  SyntheticEvalPass pass(o, 3, 10, 5, 1, 2);  // examples 1, 3, 5, 7, 9: batches of 3 and 2
  const auto first = whole_pass(pass);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].batch_size, 3);
  EXPECT_EQ(first[1].batch_size, 2);
  Batch b = first[0];
  EXPECT_FALSE(pass.next(b));
  EXPECT_TRUE(same_batch(b, first[0]));  // untouched
  pass.reset();
  EXPECT_TRUE(same(whole_pass(pass), first));
  // Reset midway.
  pass.reset();
  ASSERT_TRUE(pass.next(b));
  pass.reset();
  EXPECT_TRUE(same(whole_pass(pass), first));
  // A rank with no examples.
  SyntheticEvalPass empty(o, 3, 2, 5, 2, 3);
  EXPECT_EQ(empty.rank_examples(), 0);
  EXPECT_FALSE(empty.next(b));
}

}  // namespace
}  // namespace krait::data
