// tests/data/test_prefetch_sampler.cpp — PrefetchSampler: the same batches and states as the sampler
// it wraps (its state never shows the read-ahead), exact resume mid-stream, errors of the wrapped
// sampler rethrown on the caller's thread, and a clean shutdown whatever the worker is doing.
// Nothing here measures time; where a test must know the worker has caught up it waits on a counter.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

#include "common/error.h"
#include "data/prefetch_sampler.h"
#include "data/window_sampler.h"
#include "tests/data/batch_compare.h"
#include "tests/data/error_text.h"

namespace krait::data {
namespace {

using testing::draw;
using testing::same;
using testing::same_batch;
using testing::same_state;

// Two records of ids r * 100 + position.
InMemorySequenceSet small_set() {
  std::vector<SequenceRecord> records;
  for (uint16_t r = 0; r < 2; ++r) {
    SequenceRecord record{"rec" + std::to_string(r), kNoLabel, {}};
    for (uint16_t p = 0; p < (r == 0 ? 80 : 45); ++p) record.ids.push_back(static_cast<uint16_t>(r * 100 + p));
    records.push_back(std::move(record));
  }
  return InMemorySequenceSet("mem/prefetch.h5", 200, {}, std::move(records));
}

WindowOptions options() {
  WindowOptions o;
  o.batch_size = 4;
  o.seq_len = 7;
  return o;
}

// What a FakeSampler's calls did, shared so that a test can read it after the sampler is gone.
struct FakeLog {
  std::atomic<uint64_t> calls{0};
  std::atomic<bool> ran_on_caller_thread{false};
};

// Batch k (1-based) is one id, k. Throws on call `fail_on` (0 = never) and from set_state when asked
// for batches_drawn == kRejectedState. Logs its calls and whether any ran on the constructing thread.
class FakeSampler final : public TrainSampler {
 public:
  static constexpr uint64_t kRejectedState = 999;

  explicit FakeSampler(uint64_t fail_on = 0, std::shared_ptr<FakeLog> log = std::make_shared<FakeLog>())
      : log(std::move(log)), fail_on_(fail_on), caller_(std::this_thread::get_id()) {}

  void next(Batch& out) override {
    if (std::this_thread::get_id() == caller_) log->ran_on_caller_thread = true;
    const uint64_t call = ++drawn_;
    ++log->calls;
    if (call == fail_on_) throw std::runtime_error("fake sampler: disk on fire at call " + std::to_string(call));
    out.resize(1, 1);
    out.inputs[0] = static_cast<int32_t>(call);
    out.targets[0] = static_cast<int32_t>(call);
  }
  SamplerState state() const override { return {Rng(drawn_).snapshot(), drawn_}; }
  void set_state(const SamplerState& state) override {
    KRAIT_CHECK(state.batches_drawn != kRejectedState, "fake sampler: state ", state.batches_drawn, " rejected");
    drawn_ = state.batches_drawn;
  }

  std::shared_ptr<FakeLog> log;

 private:
  uint64_t fail_on_;
  std::thread::id caller_;
  uint64_t drawn_ = 0;  // touched by the worker only while it runs
};

// Waits (without a deadline: a hang is the failure) until the worker has made `n` calls.
void wait_for_calls(const FakeLog& log, uint64_t n) {
  while (log.calls.load() < n) std::this_thread::yield();
}

// A fake and its log, the fake ready to hand to a PrefetchSampler.
std::pair<std::unique_ptr<FakeSampler>, std::shared_ptr<FakeLog>> fake_sampler(uint64_t fail_on = 0) {
  auto fake = std::make_unique<FakeSampler>(fail_on);
  auto log = fake->log;
  return {std::move(fake), std::move(log)};
}

int32_t id_of(const Batch& b) { return b.inputs.at(0); }

TEST(PrefetchSampler, YieldsTheWrappedSamplersBatches) {
  const auto set = small_set();
  for (size_t depth : {1, 2, 4, 16}) {
    SCOPED_TRACE("depth " + std::to_string(depth));
    WindowSampler plain(set, options(), 17, 1, 2);
    PrefetchSampler prefetch(std::make_unique<WindowSampler>(set, options(), 17, 1, 2), depth);
    for (int i = 0; i < 40; ++i) {
      Batch expected, got;
      plain.next(expected);
      prefetch.next(got);
      ASSERT_TRUE(same_batch(expected, got)) << "batch " << i;
    }
  }
}

TEST(PrefetchSampler, YieldsClassificationBatchesWithLabels) {
  std::vector<SequenceRecord> records = {{"a", 0, std::vector<uint16_t>(30, 1)}, {"b", 1, std::vector<uint16_t>(30, 2)}};
  const InMemorySequenceSet set("mem/labeled.h5", 3, {"x", "y"}, std::move(records));
  WindowOptions o = options();
  o.classify = true;
  WindowSampler plain(set, o, 5);
  PrefetchSampler prefetch(std::make_unique<WindowSampler>(set, o, 5), 3);
  const auto expected = draw(plain, 20), got = draw(prefetch, 20);
  EXPECT_TRUE(same(expected, got));
  EXPECT_EQ(got[0].labels.size(), 4u);
  EXPECT_TRUE(got[0].targets.empty());
}

TEST(PrefetchSampler, StateIsAsOfTheLastBatchHandedOut) {
  const auto set = small_set();
  WindowSampler plain(set, options(), 23);
  PrefetchSampler prefetch(std::make_unique<WindowSampler>(set, options(), 23), 4);
  // Before any batch: the wrapped sampler's starting state, though the worker may be ahead.
  EXPECT_TRUE(same_state(prefetch.state(), plain.state()));
  for (int k = 1; k <= 30; ++k) {
    Batch a, b;
    plain.next(a);
    prefetch.next(b);
    ASSERT_TRUE(same_state(prefetch.state(), plain.state())) << "after " << k << " batches";
    ASSERT_EQ(prefetch.state().batches_drawn, static_cast<uint64_t>(k));
  }
}

TEST(PrefetchSampler, StateIgnoresTheReadAheadEvenWhenTheWorkerIsFull) {
  auto [fake, log] = fake_sampler();
  PrefetchSampler prefetch(std::move(fake), 3);
  EXPECT_EQ(prefetch.state().batches_drawn, 0u);
  Batch batch;
  prefetch.next(batch);
  prefetch.next(batch);
  wait_for_calls(*log, 5);  // 2 handed out, 3 waiting
  EXPECT_TRUE(same_state(prefetch.state(), SamplerState{Rng(2).snapshot(), 2}));
}

TEST(PrefetchSampler, SetStateMidStreamContinuesExactly) {
  const auto set = small_set();
  PrefetchSampler prefetch(std::make_unique<WindowSampler>(set, options(), 31), 4);
  draw(prefetch, 5);
  const SamplerState saved = prefetch.state();
  const auto expected = draw(prefetch, 12);

  // Back to the saved point: the read-ahead batches are dropped, the same ones come again.
  prefetch.set_state(saved);
  EXPECT_TRUE(same_state(prefetch.state(), saved));
  EXPECT_TRUE(same(draw(prefetch, 12), expected));

  // And the plain sampler agrees on what follows batch 5.
  WindowSampler plain(set, options(), 31);
  draw(plain, 5);
  EXPECT_TRUE(same(draw(plain, 12), expected));
}

TEST(PrefetchSampler, SetStateFromAnotherSamplerJumpsThere) {
  const auto set = small_set();
  WindowSampler plain(set, options(), 47);
  draw(plain, 20);
  const SamplerState at_20 = plain.state();
  const auto expected = draw(plain, 10);

  // A fresh prefetcher with another seed (as when resuming from a checkpoint), moved there before
  // and after it has handed anything out.
  PrefetchSampler fresh(std::make_unique<WindowSampler>(set, options(), 1), 2);
  fresh.set_state(at_20);
  EXPECT_TRUE(same(draw(fresh, 10), expected));
  EXPECT_EQ(fresh.state().batches_drawn, 30u);

  PrefetchSampler used(std::make_unique<WindowSampler>(set, options(), 2), 2);
  draw(used, 3);
  used.set_state(at_20);
  EXPECT_TRUE(same(draw(used, 10), expected));
}

TEST(PrefetchSampler, WrappedSamplerRunsOnAWorkerThread) {
  auto [fake, log] = fake_sampler();
  PrefetchSampler prefetch(std::move(fake), 2);
  const auto batches = draw(prefetch, 10);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(id_of(batches[static_cast<size_t>(i)]), i + 1);
  EXPECT_FALSE(log->ran_on_caller_thread.load());
}

TEST(PrefetchSampler, ErrorOfTheWrappedSamplerIsRethrownOnTheCallersThread) {
  auto [fake, log] = fake_sampler(3);
  PrefetchSampler prefetch(std::move(fake), 4);
  Batch batch;
  // The two batches made before the failure still come out first.
  prefetch.next(batch);
  EXPECT_EQ(id_of(batch), 1);
  prefetch.next(batch);
  EXPECT_EQ(id_of(batch), 2);
  std::string message;
  try {
    prefetch.next(batch);
    ADD_FAILURE() << "expected the fake sampler's error";
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  EXPECT_EQ(message, "fake sampler: disk on fire at call 3");
  EXPECT_FALSE(log->ran_on_caller_thread.load());
  // The state is still that of the last good batch, and asking again fails again rather than hang.
  EXPECT_EQ(prefetch.state().batches_drawn, 2u);
  EXPECT_THROW(prefetch.next(batch), std::runtime_error);
  // The worker stopped at the failure.
  EXPECT_EQ(log->calls.load(), 3u);
}

TEST(PrefetchSampler, KraitErrorKeepsItsType) {
  class Failing final : public TrainSampler {
   public:
    void next(Batch&) override { KRAIT_FAIL("mem/x.h5: record 'r' read passes its end"); }
    SamplerState state() const override { return {}; }
    void set_state(const SamplerState&) override {}
  };
  PrefetchSampler prefetch(std::make_unique<Failing>());
  Batch batch;
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { prefetch.next(batch); }),
                                "mem/x.h5: record 'r' read passes its end"));
}

TEST(PrefetchSampler, SetStateAfterAnErrorStartsAgain) {
  auto [fake, log] = fake_sampler(3);
  PrefetchSampler prefetch(std::move(fake), 2);
  Batch batch;
  prefetch.next(batch);
  prefetch.next(batch);
  EXPECT_THROW(prefetch.next(batch), std::runtime_error);
  EXPECT_EQ(log->calls.load(), 3u);
  // Rewinding clears the error: calls 1 and 2 succeed again (the fake fails on its third call only
  // once it counts to 3 again).
  prefetch.set_state({Rng(0).snapshot(), 0});
  prefetch.next(batch);
  EXPECT_EQ(id_of(batch), 1);
  prefetch.next(batch);
  EXPECT_EQ(id_of(batch), 2);
  EXPECT_THROW(prefetch.next(batch), std::runtime_error);
}

TEST(PrefetchSampler, RejectedSetStateFailsNextInsteadOfHanging) {
  PrefetchSampler prefetch(std::make_unique<FakeSampler>(), 2);
  Batch batch;
  prefetch.next(batch);
  const std::string message =
      testing::error_text([&] { prefetch.set_state({Rng(0).snapshot(), FakeSampler::kRejectedState}); });
  EXPECT_TRUE(testing::mentions(message, "fake sampler: state 999 rejected"));
  // No worker runs now; next() reports the failure rather than waiting forever.
  EXPECT_TRUE(testing::mentions(testing::error_text([&] { prefetch.next(batch); }), "state 999 rejected"));
  // A good state afterwards recovers.
  prefetch.set_state({Rng(0).snapshot(), 10});
  prefetch.next(batch);
  EXPECT_EQ(id_of(batch), 11);
  EXPECT_EQ(prefetch.state().batches_drawn, 11u);
}

TEST(PrefetchSampler, DestroyingWhileTheWorkerWaitsDoesNotHang) {
  {
    auto [fake, log] = fake_sampler();
    auto prefetch = std::make_unique<PrefetchSampler>(std::move(fake), 2);
    Batch batch;
    prefetch->next(batch);
    wait_for_calls(*log, 3);  // 1 handed out, 2 ready: the worker now waits for room
    prefetch.reset();         // must wake and join the waiting worker
    EXPECT_EQ(log->calls.load(), 3u);
  }
  // Also straight after construction, after taking one real batch, and after an error.
  { PrefetchSampler prefetch(std::make_unique<FakeSampler>(), 1); }
  {
    const auto set = small_set();
    PrefetchSampler prefetch(std::make_unique<WindowSampler>(set, options(), 3));
    Batch batch;
    prefetch.next(batch);
  }
  {
    PrefetchSampler prefetch(std::make_unique<FakeSampler>(1), 2);
    Batch batch;
    EXPECT_THROW(prefetch.next(batch), std::runtime_error);
  }
}

TEST(PrefetchSampler, ReadsAheadNoFurtherThanItsDepth) {
  auto [fake, log] = fake_sampler();
  auto prefetch = std::make_unique<PrefetchSampler>(std::move(fake), 3);
  Batch batch;
  for (int i = 0; i < 4; ++i) prefetch->next(batch);
  wait_for_calls(*log, 7);  // 4 handed out, 3 ready
  // Rewinding to where we are drops the read-ahead: the next batch is made again.
  prefetch->set_state(prefetch->state());
  prefetch->next(batch);
  EXPECT_EQ(id_of(batch), 5);
  wait_for_calls(*log, 7 + 4);  // batch 5 handed out, 6 to 8 ready
  // Once the worker is joined, count what it made: never more than depth ahead.
  prefetch.reset();
  EXPECT_EQ(log->calls.load(), 7u + 4u);
}

TEST(PrefetchSampler, RejectsNoSamplerOrZeroDepth) {
  EXPECT_TRUE(testing::mentions(testing::error_text([] { PrefetchSampler p(nullptr); }),
                                "PrefetchSampler: needs a sampler and a depth >= 1"));
  EXPECT_TRUE(testing::mentions(testing::error_text([] { PrefetchSampler p(std::make_unique<FakeSampler>(), 0); }),
                                "depth >= 1"));
}

}  // namespace
}  // namespace krait::data
