// data/eval_batcher.h — EvalBatcher, the deterministic evaluation pass: non-overlapping windows in
// order, dealt out to ranks by striding.
//
// Window i starts at token i * seq_len and spans seq_len + 1 tokens, so consecutive windows share
// one token and every token after the first is a target exactly once. There are
// (size - 1) / seq_len windows; the tokens after the last whole window are dropped. Rank r takes
// windows r, r + world_size, r + 2 * world_size, ...; ranks' window counts differ by at most one,
// so reduce the summed loss and token count across ranks rather than averaging per-rank means.
#pragma once

#include <cstdint>

#include "data/sampler.h"
#include "data/token_source.h"

namespace krait::data {

class EvalBatcher final : public EvalPass {
 public:
  // max_batches > 0 limits each rank to that many batches, i.e. the pass covers only the first
  // max_batches * batch_size * world_size windows; 0 covers the whole source.
  EvalBatcher(const TokenSource& source, int64_t batch_size, int64_t seq_len, int rank = 0, int world_size = 1,
              int64_t max_batches = 0);

  // Fills out with this rank's next windows (the last batch may hold fewer than batch_size rows);
  // returns false, leaving out untouched, once they are used up.
  bool next(Batch& out) override;
  void reset() override { next_window_ = 0; }

  uint64_t total_windows() const { return total_windows_; }  // across all ranks, after the cap
  uint64_t rank_windows() const;                             // this rank's share

 private:
  const TokenSource& source_;
  int64_t batch_size_;
  int64_t seq_len_;
  uint64_t rank_;
  uint64_t world_size_;
  uint64_t total_windows_;
  uint64_t next_window_ = 0;  // index among this rank's windows
};

}  // namespace krait::data
