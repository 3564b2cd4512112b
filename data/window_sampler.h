// data/window_sampler.h — windows cut from a SequenceSet's records: WindowSampler, the training
// stream (windows uniform over every position where one fits, optionally reverse-complemented; one
// stream for all ranks), and WindowEvalPass, the deterministic validation pass (non-overlapping
// windows of every record, in a fixed shuffled order so that a capped pass still sees every class).
//
// A language-model window is seq_len + 1 ids: its first seq_len are a row of inputs, its last
// seq_len the row's targets. A classification window is seq_len ids and the record's label.
// Records shorter than a window are skipped; a set where every record is shorter is an error.
#pragma once

#include <cstdint>
#include <vector>

#include "data/sampler.h"
#include "data/sequence_set.h"

namespace krait::data {

struct WindowOptions {
  int64_t batch_size = 1;
  int64_t seq_len = 1;
  bool classify = false;            // labels per window instead of next-id targets
  std::vector<int32_t> complement;  // training only: non-empty = reverse-complement half the windows
};

// Where windows of `span` ids fit: per usable record, the number of start positions, cumulated.
class WindowIndex {
 public:
  WindowIndex(const SequenceSet& set, int64_t span);
  uint64_t total() const { return cumulative_.empty() ? 0 : cumulative_.back(); }
  // The record and start of window i of total(), counted over records in order.
  std::pair<size_t, uint64_t> locate(uint64_t i) const;

 private:
  std::vector<size_t> records_;
  std::vector<uint64_t> cumulative_;
};

class WindowSampler final : public TrainSampler {
 public:
  // The set must outlive the sampler. options.batch_size is this rank's rows; the global micro-batch
  // is batch_size x world_size windows from one stream seeded by rank_seed(seed, 0), of which rank r
  // reads rows [r x batch_size, (r + 1) x batch_size).
  WindowSampler(const SequenceSet& set, WindowOptions options, uint64_t seed, int rank = 0, int world_size = 1);

  void next(Batch& out) override;
  SamplerState state() const override { return {rng_.snapshot(), batches_drawn_}; }
  void set_state(const SamplerState& state) override;

 private:
  void read_row(size_t record, uint64_t start, bool flip, std::vector<int32_t>& window, Batch& out, int64_t row) const;

  const SequenceSet& set_;
  WindowOptions options_;
  WindowIndex index_;
  int rank_, world_size_;
  Rng rng_;
  uint64_t batches_drawn_ = 0;
};

class WindowEvalPass final : public EvalPass {
 public:
  // max_batches > 0 caps each rank's batches; rank r takes windows r, r + world_size, ... of the
  // shuffled order.
  WindowEvalPass(const SequenceSet& set, WindowOptions options, int rank = 0, int world_size = 1,
                 int64_t max_batches = 0);

  bool next(Batch& out) override;
  void reset() override { next_ = 0; }
  uint64_t rank_windows() const { return windows_.size(); }

 private:
  const SequenceSet& set_;
  WindowOptions options_;
  std::vector<std::pair<size_t, uint64_t>> windows_;  // this rank's (record, start), in order
  size_t next_ = 0;
};

// Fills row `row` of out (sized already) with the window of `record` at `start`.
void read_sequence_window(const SequenceSet& set, size_t record, uint64_t start, bool classify, Batch& out,
                          int64_t row);

}  // namespace krait::data
