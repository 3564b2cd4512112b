// data/synthetic_tasks.h — the Mamba paper's synthetic tasks (Gu & Dao 2023, section 4.1) as batch
// generators, no files: selective copying and induction heads. SyntheticSampler is the endless
// training stream (one stream for all ranks, saveable like RandomBatcher); SyntheticEvalPass a fixed
// set of examples, the same on every run, strided across ranks.
//
// Both tasks use the model's vocabulary, vocab_size ids (16 by default, as in the paper), with the
// last id, vocab_size - 1, as the task's special token. Targets are kIgnoreId except where the task
// asks for an answer, so the loss and the accuracy count only the answers.
//
// Selective copying (section 4.1.1, appendix E.1). Ids: 0 is noise (blank), vocab_size - 1 the
// separator ("start recalling"), 1 .. vocab_size - 2 data tokens. A row of seq_len inputs is
//   [ input part: seq_len - copy_tokens ids ][ copy_tokens separators ]
// where the input part holds copy_tokens data tokens (each uniform over 1 .. vocab_size - 2, repeats
// allowed) at distinct positions chosen uniformly at random, and noise everywhere else. The targets
// of the last copy_tokens positions (the separators) are the data tokens in the order they appear
// in the input part; every other target is kIgnoreId. Needs copy_tokens >= 1, seq_len - copy_tokens
// >= copy_tokens (room for the distinct positions) and vocab_size >= 3.
//
// Induction heads (section 4.1.2). Ids 0 .. vocab_size - 2 are ordinary tokens, vocab_size - 1 the
// trigger. A row is seq_len ordinary tokens uniform at random, except: the trigger at a position p
// uniform over the first half, [0, seq_len / 2) (never the last position, so a token v follows it at
// p + 1), and the trigger again at the last position. The target of the last position is v; every
// other target is kIgnoreId. The trigger appears nowhere else. Needs seq_len >= 4, vocab_size >= 3.
#pragma once

#include <cstdint>
#include <string>

#include "common/rng.h"
#include "data/batch.h"
#include "data/sampler.h"

namespace krait::data {

enum class SyntheticTask { SelectiveCopying, InductionHeads };

struct SyntheticOptions {
  SyntheticTask task = SyntheticTask::SelectiveCopying;
  int64_t seq_len = 0;       // inputs per row
  int64_t vocab_size = 16;   // the model's vocabulary
  int64_t copy_tokens = 16;  // selective copying: data tokens to memorize (ignored by induction heads)
};

// "selective-copying" | "induction-heads"; throws naming the text otherwise.
SyntheticTask parse_synthetic_task(const std::string& name);
// The name parse_synthetic_task reads.
const char* synthetic_task_name(SyntheticTask task);

// Throws (naming the task and the faulty field) unless the options make valid rows (see above).
void check_synthetic_options(const SyntheticOptions& options);

// Fills rows [first_row, first_row + rows) of out with examples drawn from rng, in row order. out must
// be sized for them already (out.resize(n, options.seq_len) with n >= first_row + rows). The draws
// one row takes do not depend on where it is written, so the same rng gives the same rows whether
// they are made one at a time or together.
void make_synthetic_rows(const SyntheticOptions& options, Rng& rng, Batch& out, int64_t first_row, int64_t rows);

class SyntheticSampler final : public TrainSampler {
 public:
  // batch_size is this rank's rows; the global micro-batch is batch_size x world_size rows from one
  // stream seeded by rank_seed(seed, 0). Every rank makes all of them (they are cheap) and keeps rows
  // [rank x batch_size, (rank + 1) x batch_size), so the data is the same on any number of ranks and
  // a state saved on one count of ranks resumes on another.
  SyntheticSampler(SyntheticOptions options, int64_t batch_size, uint64_t seed, int rank = 0, int world_size = 1);

  void next(Batch& out) override;
  SamplerState state() const override { return {rng_.snapshot(), batches_drawn_}; }
  void set_state(const SamplerState& state) override;

 private:
  SyntheticOptions options_;
  int64_t batch_size_;
  int rank_, world_size_;
  Rng rng_;
  uint64_t batches_drawn_ = 0;
  Batch discard_;  // other ranks' rows
};

class SyntheticEvalPass final : public EvalPass {
 public:
  // A fixed set of `examples` rows, made from a stream of its own (seeded from seed, but not the one
  // SyntheticSampler draws with the same seed), the same on every construction. Rank r takes examples
  // r, r + world_size, ...; the last batch may be short. Examples are made as the pass reaches them,
  // so nothing is held in memory.
  SyntheticEvalPass(SyntheticOptions options, int64_t batch_size, int64_t examples, uint64_t seed, int rank = 0,
                    int world_size = 1);

  bool next(Batch& out) override;  // false, leaving out untouched, once this rank's examples are used up
  void reset() override;

  int64_t rank_examples() const;  // this rank's share of `examples`

 private:
  SyntheticOptions options_;
  int64_t batch_size_;
  int64_t examples_;
  int rank_, world_size_;
  Rng::Snapshot start_;
  Rng rng_;
  int64_t next_example_ = 0;  // global index of the next example rng_ makes
  Batch discard_;             // other ranks' examples
};

}  // namespace krait::data
