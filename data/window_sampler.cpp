// data/window_sampler.cpp — WindowIndex, WindowSampler and WindowEvalPass (see window_sampler.h).
#include "data/window_sampler.h"

#include <algorithm>

#include "common/error.h"

namespace krait::data {
namespace {

int64_t span_of(const WindowOptions& o) { return o.classify ? o.seq_len : o.seq_len + 1; }

void check_options(const SequenceSet& set, const WindowOptions& o, int rank, int world_size) {
  KRAIT_CHECK(o.batch_size >= 1 && o.seq_len >= 1, set.path(), ": batch_size and seq_len must be >= 1, found ",
              o.batch_size, " and ", o.seq_len);
  KRAIT_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, set.path(), ": rank ", rank,
              " is not in [0, world_size = ", world_size, ")");
  KRAIT_CHECK(!o.classify || set.labeled(), set.path(), ": classification needs labeled records, but the set has no "
              "classes (give a manifest or folder labels when preparing it)");
  KRAIT_CHECK(o.complement.empty() || o.complement.size() == set.vocab_size(), set.path(),
              ": the complement table has ", o.complement.size(), " entries for a vocabulary of ", set.vocab_size());
  for (size_t id = 0; id < o.complement.size(); ++id) {
    const int32_t to = o.complement[id];
    KRAIT_CHECK(to >= 0 && static_cast<uint32_t>(to) < set.vocab_size(), set.path(), ": the complement table maps ",
                id, " to ", to, ", not in [0, ", set.vocab_size(), ")");
  }
}

// The span of a window, after checking the options (so a bad seq_len is reported as such before
// WindowIndex reads a negative span as a huge one).
int64_t checked_span(const SequenceSet& set, const WindowOptions& o, int rank, int world_size) {
  check_options(set, o, rank, world_size);
  return span_of(o);
}

void prepare_rows(Batch& out, int64_t rows, const WindowOptions& o) {
  if (o.classify) {
    out.resize_classify(rows, o.seq_len);
  } else {
    out.resize(rows, o.seq_len);
  }
}

}  // namespace

WindowIndex::WindowIndex(const SequenceSet& set, int64_t span) {
  uint64_t total = 0, longest = 0;
  for (size_t r = 0; r < set.num_records(); ++r) {
    const uint64_t length = set.record_length(r);
    longest = std::max(longest, length);
    if (length < static_cast<uint64_t>(span)) continue;
    total += length - static_cast<uint64_t>(span) + 1;
    records_.push_back(r);
    cumulative_.push_back(total);
  }
  KRAIT_CHECK(set.num_records() > 0, set.path(), ": the dataset holds no records");
  KRAIT_CHECK(total > 0, set.path(), ": a window of ", span, " ids is longer than every record (the longest holds ",
              longest, "); lower data.seq_len");
}

std::pair<size_t, uint64_t> WindowIndex::locate(uint64_t i) const {
  const size_t k = static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), i) - cumulative_.begin());
  const uint64_t first = k == 0 ? 0 : cumulative_[k - 1];
  return {records_[k], i - first};
}

void read_sequence_window(const SequenceSet& set, size_t record, uint64_t start, bool classify, Batch& out,
                          int64_t row) {
  int32_t* input = out.inputs.data() + row * out.seq_len;
  const uint64_t length = static_cast<uint64_t>(out.seq_len);
  set.read(record, start, length, input);
  if (classify) {
    out.labels[static_cast<size_t>(row)] = set.record_label(record);
    return;
  }
  int32_t* target = out.targets.data() + row * out.seq_len;
  std::copy(input + 1, input + length, target);
  set.read(record, start + length, 1, target + length - 1);
}

WindowSampler::WindowSampler(const SequenceSet& set, WindowOptions options, uint64_t seed, int rank, int world_size)
    : set_(set),
      options_(std::move(options)),
      index_(set, checked_span(set, options_, rank, world_size)),
      rank_(rank),
      world_size_(world_size),
      rng_(rank_seed(seed, 0)) {}

// Every rank draws the whole global micro-batch's windows and flips (cheap) and reads only its rows,
// so the stream is one for all ranks: the same windows in the same order on any number of them.
// Reverse-complementing a language-model window reverses the whole seq_len + 1 ids first, so the
// targets stay the ids that follow the inputs on the reverse strand.
void WindowSampler::next(Batch& out) {
  prepare_rows(out, options_.batch_size, options_);
  std::vector<int32_t> window(static_cast<size_t>(span_of(options_)));
  for (int r = 0; r < world_size_; ++r) {
    for (int64_t row = 0; row < options_.batch_size; ++row) {
      const auto [record, start] = index_.locate(rng_.below(index_.total()));
      const bool flip = !options_.complement.empty() && rng_.below(2) == 1;
      if (r == rank_) read_row(record, start, flip, window, out, row);
    }
  }
  ++batches_drawn_;
}

void WindowSampler::read_row(size_t record, uint64_t start, bool flip, std::vector<int32_t>& window, Batch& out,
                             int64_t row) const {
  if (!flip) {
    read_sequence_window(set_, record, start, options_.classify, out, row);
    return;
  }
  set_.read(record, start, window.size(), window.data());
  std::reverse(window.begin(), window.end());
  for (int32_t& id : window) id = options_.complement[static_cast<size_t>(id)];
  int32_t* input = out.inputs.data() + row * options_.seq_len;
  std::copy(window.begin(), window.begin() + options_.seq_len, input);
  if (options_.classify) {
    out.labels[static_cast<size_t>(row)] = set_.record_label(record);
  } else {
    std::copy(window.begin() + 1, window.end(), out.targets.data() + row * options_.seq_len);
  }
}

void WindowSampler::set_state(const SamplerState& state) {
  rng_.restore(state.rng);
  batches_drawn_ = state.batches_drawn;
}

// Windows start at 0, seq_len, 2 seq_len, ... of each record; a language-model window reads one id
// past its seq_len, so consecutive ones share a token and every id after a record's first is a
// target once. The order is shuffled with a fixed seed, the same on every rank and run.
WindowEvalPass::WindowEvalPass(const SequenceSet& set, WindowOptions options, int rank, int world_size,
                               int64_t max_batches)
    : set_(set), options_(std::move(options)) {
  options_.complement.clear();
  check_options(set, options_, rank, world_size);
  KRAIT_CHECK(max_batches >= 0, set.path(), ": max_batches must be >= 0 (0 = no cap), found ", max_batches);
  const uint64_t span = static_cast<uint64_t>(span_of(options_)), step = static_cast<uint64_t>(options_.seq_len);
  std::vector<std::pair<size_t, uint64_t>> all;
  for (size_t r = 0; r < set.num_records(); ++r) {
    const uint64_t length = set.record_length(r);
    for (uint64_t start = 0; start + span <= length; start += step) all.emplace_back(r, start);
  }
  KRAIT_CHECK(!all.empty(), set.path(), ": a window of ", span, " ids is longer than every record; lower data.seq_len");
  Rng rng(0x6576616c);  // "eval"
  for (size_t i = all.size(); i > 1; --i) std::swap(all[i - 1], all[rng.below(i)]);
  size_t total = all.size();
  if (max_batches > 0)
    total = std::min(total, static_cast<size_t>(max_batches * options_.batch_size) * static_cast<size_t>(world_size));
  for (size_t i = static_cast<size_t>(rank); i < total; i += static_cast<size_t>(world_size)) windows_.push_back(all[i]);
}

bool WindowEvalPass::next(Batch& out) {
  if (next_ >= windows_.size()) return false;
  const int64_t rows = static_cast<int64_t>(std::min<size_t>(windows_.size() - next_, options_.batch_size));
  prepare_rows(out, rows, options_);
  for (int64_t row = 0; row < rows; ++row, ++next_)
    read_sequence_window(set_, windows_[next_].first, windows_[next_].second, options_.classify, out, row);
  return true;
}

}  // namespace krait::data
