// data/synthetic_tasks.cpp — selective copying and induction heads (see synthetic_tasks.h).
#include "data/synthetic_tasks.h"

#include <algorithm>
#include <vector>

#include "common/error.h"

namespace krait::data {
namespace {

// Examples j < n that belong to rank (j % world_size == rank).
int64_t strided_count(int64_t n, int rank, int world_size) {
  return n > rank ? (n - rank + world_size - 1) / world_size : 0;
}

void check_ranks(const char* who, int rank, int world_size) {
  KRAIT_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, who, ": rank ", rank, " is not in [0, world_size = ",
              world_size, ")");
}

// Row layout: see the header. Draws: copy_tokens positions (Floyd's sampling of distinct positions),
// then copy_tokens data tokens.
void selective_copying_row(const SyntheticOptions& o, Rng& rng, int32_t* inputs, int32_t* targets,
                           std::vector<char>& chosen) {
  const int64_t input_len = o.seq_len - o.copy_tokens;
  const auto separator = static_cast<int32_t>(o.vocab_size - 1);
  chosen.assign(static_cast<size_t>(input_len), 0);
  for (int64_t j = input_len - o.copy_tokens; j < input_len; ++j) {
    const auto t = static_cast<size_t>(rng.below(static_cast<uint64_t>(j + 1)));
    if (chosen[t]) chosen[static_cast<size_t>(j)] = 1;
    else chosen[t] = 1;
  }
  int64_t k = 0;
  for (int64_t i = 0; i < input_len; ++i) {
    targets[i] = kIgnoreId;
    if (!chosen[static_cast<size_t>(i)]) {
      inputs[i] = 0;
      continue;
    }
    const auto token = static_cast<int32_t>(1 + rng.below(static_cast<uint64_t>(o.vocab_size - 2)));
    inputs[i] = token;
    targets[input_len + k++] = token;
  }
  for (int64_t i = input_len; i < o.seq_len; ++i) inputs[i] = separator;
}

// Draws: seq_len ordinary tokens, then the first trigger's position.
void induction_heads_row(const SyntheticOptions& o, Rng& rng, int32_t* inputs, int32_t* targets) {
  const auto trigger = static_cast<int32_t>(o.vocab_size - 1);
  for (int64_t i = 0; i < o.seq_len; ++i) {
    inputs[i] = static_cast<int32_t>(rng.below(static_cast<uint64_t>(o.vocab_size - 1)));
    targets[i] = kIgnoreId;
  }
  const auto p = static_cast<int64_t>(rng.below(static_cast<uint64_t>(o.seq_len / 2)));
  inputs[p] = trigger;
  inputs[o.seq_len - 1] = trigger;
  targets[o.seq_len - 1] = inputs[p + 1];  // p + 1 <= seq_len / 2 < seq_len - 1: an ordinary token
}

}  // namespace

SyntheticTask parse_synthetic_task(const std::string& name) {
  if (name == "selective-copying") return SyntheticTask::SelectiveCopying;
  if (name == "induction-heads") return SyntheticTask::InductionHeads;
  KRAIT_FAIL("unknown synthetic task \"", name, "\" (expected selective-copying or induction-heads)");
}

const char* synthetic_task_name(SyntheticTask task) {
  switch (task) {
    case SyntheticTask::SelectiveCopying: return "selective-copying";
    case SyntheticTask::InductionHeads: return "induction-heads";
  }
  return "unknown";
}

void check_synthetic_options(const SyntheticOptions& o) {
  const char* name = synthetic_task_name(o.task);
  KRAIT_CHECK(o.task == SyntheticTask::SelectiveCopying || o.task == SyntheticTask::InductionHeads,
              "unknown synthetic task ", static_cast<int>(o.task));
  KRAIT_CHECK(o.vocab_size >= 3 && o.vocab_size <= (int64_t{1} << 31), name,
              ": vocab_size must be >= 3 (two special ids and at least one token), found ", o.vocab_size);
  if (o.task == SyntheticTask::SelectiveCopying) {
    KRAIT_CHECK(o.copy_tokens >= 1, name, ": copy_tokens must be >= 1, found ", o.copy_tokens);
    KRAIT_CHECK(o.seq_len > o.copy_tokens, name, ": seq_len (", o.seq_len, ") must be greater than copy_tokens (",
                o.copy_tokens, ")");
    KRAIT_CHECK(o.seq_len - o.copy_tokens >= o.copy_tokens, name, ": seq_len (", o.seq_len,
                ") must be at least 2 x copy_tokens (", o.copy_tokens,
                "): the input part of seq_len - copy_tokens ids must hold copy_tokens distinct positions");
  } else {
    KRAIT_CHECK(o.seq_len >= 4, name, ": seq_len must be >= 4, found ", o.seq_len);
  }
}

void make_synthetic_rows(const SyntheticOptions& o, Rng& rng, Batch& out, int64_t first_row, int64_t rows) {
  KRAIT_CHECK(out.seq_len == o.seq_len && first_row >= 0 && rows >= 0 && first_row + rows <= out.batch_size &&
                  out.inputs.size() == static_cast<size_t>(out.batch_size * out.seq_len) &&
                  out.targets.size() == out.inputs.size(),
              "make_synthetic_rows: rows [", first_row, ", ", first_row + rows, ") of seq_len ", o.seq_len,
              " do not fit a batch of ", out.batch_size, " rows of ", out.seq_len,
              " with targets; out.resize(rows, seq_len) first");
  std::vector<char> chosen;
  for (int64_t row = first_row; row < first_row + rows; ++row) {
    int32_t* inputs = out.inputs.data() + row * o.seq_len;
    int32_t* targets = out.targets.data() + row * o.seq_len;
    if (o.task == SyntheticTask::SelectiveCopying) selective_copying_row(o, rng, inputs, targets, chosen);
    else induction_heads_row(o, rng, inputs, targets);
  }
}

SyntheticSampler::SyntheticSampler(SyntheticOptions options, int64_t batch_size, uint64_t seed, int rank,
                                   int world_size)
    : options_(options), batch_size_(batch_size), rank_(rank), world_size_(world_size), rng_(rank_seed(seed, 0)) {
  check_synthetic_options(options_);
  KRAIT_CHECK(batch_size >= 1, "SyntheticSampler: batch_size must be >= 1, found ", batch_size);
  check_ranks("SyntheticSampler", rank, world_size);
}

void SyntheticSampler::next(Batch& out) {
  out.resize(batch_size_, options_.seq_len);
  if (world_size_ > 1 && discard_.batch_size != batch_size_) discard_.resize(batch_size_, options_.seq_len);
  for (int r = 0; r < world_size_; ++r) make_synthetic_rows(options_, rng_, r == rank_ ? out : discard_, 0, batch_size_);
  ++batches_drawn_;
}

void SyntheticSampler::set_state(const SamplerState& state) {
  rng_.restore(state.rng);
  batches_drawn_ = state.batches_drawn;
}

SyntheticEvalPass::SyntheticEvalPass(SyntheticOptions options, int64_t batch_size, int64_t examples, uint64_t seed,
                                     int rank, int world_size)
    : options_(options),
      batch_size_(batch_size),
      examples_(examples),
      rank_(rank),
      world_size_(world_size),
      // A stream apart from the training one of the same seed: the evaluation set is not the first
      // training batches.
      rng_(rank_seed(seed ^ 0x6576616c2d73796eULL, 0)) {  // "eval-syn"
  check_synthetic_options(options_);
  KRAIT_CHECK(batch_size >= 1, "SyntheticEvalPass: batch_size must be >= 1, found ", batch_size);
  KRAIT_CHECK(examples >= 1, "SyntheticEvalPass: examples must be >= 1, found ", examples);
  check_ranks("SyntheticEvalPass", rank, world_size);
  start_ = rng_.snapshot();
  discard_.resize(1, options_.seq_len);
}

int64_t SyntheticEvalPass::rank_examples() const { return strided_count(examples_, rank_, world_size_); }

bool SyntheticEvalPass::next(Batch& out) {
  const int64_t left = rank_examples() - strided_count(next_example_, rank_, world_size_);
  if (left <= 0) return false;
  const int64_t rows = std::min(left, batch_size_);
  out.resize(rows, options_.seq_len);
  for (int64_t row = 0; row < rows; ++next_example_) {
    if (next_example_ % world_size_ == rank_) make_synthetic_rows(options_, rng_, out, row++, 1);
    else make_synthetic_rows(options_, rng_, discard_, 0, 1);
  }
  return true;
}

void SyntheticEvalPass::reset() {
  rng_.restore(start_);
  next_example_ = 0;
}

}  // namespace krait::data
