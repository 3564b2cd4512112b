// data/dataset_split.cpp — split_dataset and SlicedSequenceSet (see dataset_split.h).
#include "data/dataset_split.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <regex>

#include "common/error.h"
#include "common/rng.h"

namespace krait::data {

namespace {

constexpr size_t index_of(SplitPart part) { return static_cast<size_t>(part); }
// Fractions adding up to 1 within rounding (0.3 + 0.7) leave train a fraction of 0.
constexpr double kFractionSlack = 1e-9;

void check_fractions(const SplitOptions& options) {
  const auto ok = [](double f) { return std::isfinite(f) && f >= 0.0 && f <= 1.0; };
  KRAIT_CHECK(ok(options.valid_fraction), "split: the valid fraction ", options.valid_fraction,
              " is not in [0, 1]");
  KRAIT_CHECK(ok(options.test_fraction), "split: the test fraction ", options.test_fraction, " is not in [0, 1]");
  KRAIT_CHECK(options.valid_fraction + options.test_fraction <= 1.0 + kFractionSlack,
              "split: the valid and test fractions (", options.valid_fraction, " + ", options.test_fraction,
              ") add up to more than 1");
}

double fraction_of(const SplitOptions& options, SplitPart part) {
  switch (part) {
    case SplitPart::valid:
      return options.valid_fraction;
    case SplitPart::test:
      return options.test_fraction;
    case SplitPart::train: {
      const double rest = 1.0 - options.valid_fraction - options.test_fraction;
      return rest > kFractionSlack ? rest : 0.0;
    }
  }
  return 0.0;
}

// Appends a slice, merging it into the previous one when they are contiguous parts of one record.
void append(std::vector<RecordSlice>& slices, const RecordSlice& slice) {
  if (slice.length == 0) return;
  if (!slices.empty()) {
    RecordSlice& last = slices.back();
    if (last.record == slice.record && last.offset + last.length == slice.offset) {
      last.length += slice.length;
      return;
    }
  }
  slices.push_back(slice);
}

DatasetSplit split_by_region(const SequenceSet& set, const SplitOptions& options) {
  DatasetSplit split;
  for (size_t r = 0; r < set.num_records(); ++r) {
    const uint64_t length = set.record_length(r);
    const uint64_t region = options.region_size > 0 ? options.region_size : length;
    if (length == 0) continue;
    // Cut points inside a region of nominal size `region`: train [0, a), valid [a, b), test [b, region).
    const auto rounded = [&](double f) { return static_cast<uint64_t>(std::llround(static_cast<double>(region) * f)); };
    const uint64_t b = region - std::min(region, rounded(options.test_fraction));
    const uint64_t a = region - std::min(region, rounded(options.valid_fraction + options.test_fraction));
    for (uint64_t start = 0; start < length; start += region) {
      const uint64_t end = std::min(length, start + region);
      const auto clip = [&](uint64_t at) { return std::min(end, start + at); };
      append(split.parts[index_of(SplitPart::train)], {r, start, clip(a) - start});
      append(split.parts[index_of(SplitPart::valid)], {r, clip(a), clip(b) - clip(a)});
      append(split.parts[index_of(SplitPart::test)], {r, clip(b), end - clip(b)});
    }
  }
  return split;
}

// Group keys from record names, with the regex compiled once.
class GroupKeys {
 public:
  explicit GroupKeys(const SplitOptions& options) : options_(options) {
    if (options.group_by != GroupBy::regex) return;
    KRAIT_CHECK(!options.group_regex.empty(), "split by group: no group regex given");
    try {
      regex_ = std::regex(options.group_regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      KRAIT_FAIL("split by group: the group regex '", options.group_regex, "' is invalid: ", e.what());
    }
  }

  std::string operator()(const std::string& name) const {
    if (options_.group_by == GroupBy::folder) {
      const std::string folder = std::filesystem::path(name).parent_path().filename().string();
      KRAIT_CHECK(!folder.empty(), "split by group: record '", name, "' has no parent folder to group by");
      return folder;
    }
    std::smatch match;
    KRAIT_CHECK(std::regex_search(name, match, regex_), "split by group: record '", name,
                "' does not match the group regex '", options_.group_regex, "'");
    const std::string key = match.size() > 1 ? match[1].str() : match[0].str();
    KRAIT_CHECK(!key.empty(), "split by group: the group regex '", options_.group_regex,
                "' gives an empty group for record '", name, "'");
    return key;
  }

 private:
  const SplitOptions& options_;
  std::regex regex_;
};

// Assigns whole groups (each a list of records) to the parts: shuffled with the seed, test first,
// then valid, the rest to train.
DatasetSplit split_by_groups(const SequenceSet& set, const SplitOptions& options,
                             const std::vector<std::vector<size_t>>& groups, const std::vector<std::string>& keys,
                             const char* unit) {
  std::vector<size_t> order(groups.size());
  std::iota(order.begin(), order.end(), size_t{0});
  Rng rng(options.seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);

  std::vector<uint64_t> weight(groups.size(), 0);
  uint64_t total = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t r : groups[g]) weight[g] += set.record_length(r);
    total += weight[g];
  }

  const std::vector<SplitPart> held_out = {SplitPart::test, SplitPart::valid};
  size_t needed = 0;  // parts still to fill, each with at least one group
  for (SplitPart part : kSplitParts) needed += fraction_of(options, part) > 0 ? 1 : 0;
  KRAIT_CHECK(groups.size() >= needed, "split by ", split_rule_name(options.rule), ": ", groups.size(), " ", unit,
              groups.size() == 1 ? "" : "s", " cannot fill the ", needed, " parts with a nonzero fraction");

  std::array<std::vector<size_t>, 3> chosen;  // groups per part
  size_t next = 0;
  for (SplitPart part : held_out) {
    const double fraction = fraction_of(options, part);
    if (fraction <= 0) continue;
    --needed;
    const double target = fraction * static_cast<double>(total);
    double taken = 0;
    auto& mine = chosen[index_of(part)];
    // At least one group; more while that brings the share closer to the target, leaving one group
    // for each part still to fill.
    while (next < order.size() && order.size() - next > needed) {
      const double with = taken + static_cast<double>(weight[order[next]]);
      if (!mine.empty() && std::abs(with - target) >= std::abs(taken - target)) break;
      mine.push_back(order[next++]);
      taken = with;
    }
  }
  // The rest to train; with a train fraction of 0, to the last held-out part filled.
  SplitPart rest = SplitPart::train;
  if (fraction_of(options, SplitPart::train) <= 0) rest = options.valid_fraction > 0 ? SplitPart::valid : SplitPart::test;
  while (next < order.size()) chosen[index_of(rest)].push_back(order[next++]);

  DatasetSplit split;
  for (SplitPart part : kSplitParts) {
    std::vector<size_t> records;
    for (size_t g : chosen[index_of(part)]) {
      records.insert(records.end(), groups[g].begin(), groups[g].end());
      if (!keys.empty()) split.groups[index_of(part)].push_back(keys[g]);
    }
    std::sort(records.begin(), records.end());
    for (size_t r : records) split.parts[index_of(part)].push_back({r, 0, set.record_length(r)});
    std::sort(split.groups[index_of(part)].begin(), split.groups[index_of(part)].end());
  }
  return split;
}

}  // namespace

const char* split_rule_name(SplitRule rule) {
  switch (rule) {
    case SplitRule::region:
      return "region";
    case SplitRule::record:
      return "record";
    case SplitRule::group:
      return "group";
  }
  return "?";
}

SplitRule parse_split_rule(const std::string& text) {
  for (SplitRule rule : {SplitRule::region, SplitRule::record, SplitRule::group}) {
    if (text == split_rule_name(rule)) return rule;
  }
  KRAIT_FAIL("unknown split rule '", text, "', expected region, record or group");
}

const char* split_part_name(SplitPart part) {
  switch (part) {
    case SplitPart::train:
      return "train";
    case SplitPart::valid:
      return "valid";
    case SplitPart::test:
      return "test";
  }
  return "?";
}

std::string record_group(const std::string& name, const SplitOptions& options) {
  return GroupKeys(options)(name);
}

DatasetSplit split_dataset(const SequenceSet& set, const SplitOptions& options) {
  check_fractions(options);
  KRAIT_CHECK(set.num_records() > 0, set.path(), ": nothing to split (no records)");
  DatasetSplit split;
  switch (options.rule) {
    case SplitRule::region:
      split = split_by_region(set, options);
      break;
    case SplitRule::record: {
      std::vector<std::vector<size_t>> groups(set.num_records());
      for (size_t r = 0; r < groups.size(); ++r) groups[r] = {r};
      split = split_by_groups(set, options, groups, {}, "record");
      break;
    }
    case SplitRule::group: {
      const GroupKeys key_of(options);
      std::map<std::string, std::vector<size_t>> by_key;  // sorted keys: the order before the shuffle
      for (size_t r = 0; r < set.num_records(); ++r) by_key[key_of(set.record_name(r))].push_back(r);
      std::vector<std::vector<size_t>> groups;
      std::vector<std::string> keys;
      for (auto& [key, records] : by_key) {
        keys.push_back(key);
        groups.push_back(std::move(records));
      }
      split = split_by_groups(set, options, groups, keys, "group");
      break;
    }
  }
  for (SplitPart part : kSplitParts) {
    if (fraction_of(options, part) <= 0) continue;
    uint64_t ids = 0;
    for (const RecordSlice& slice : split.part(part)) ids += slice.length;
    KRAIT_CHECK(!split.part(part).empty() && ids > 0, set.path(), ": split by ", split_rule_name(options.rule),
                " leaves the ", split_part_name(part), " part empty (", set.num_records(), " records, ",
                set.total_length(), " ids; fraction ", fraction_of(options, part), ")");
  }
  return split;
}

SlicedSequenceSet::SlicedSequenceSet(const SequenceSet& base, std::vector<RecordSlice> slices, std::string path)
    : base_(base), slices_(std::move(slices)), path_(std::move(path)) {
  names_.reserve(slices_.size());
  for (const RecordSlice& s : slices_) {
    KRAIT_CHECK(s.record < base_.num_records(), path_, ": slice of record ", s.record, " but ", base_.path(), " has ",
                base_.num_records(), " records");
    const uint64_t length = base_.record_length(s.record);
    const std::string& name = base_.record_name(s.record);
    KRAIT_CHECK(s.offset <= length && s.length <= length - s.offset, path_, ": slice [", s.offset, ", ",
                s.offset + s.length, ") passes the end of record '", name, "' (", length, " ids)");
    if (s.offset == 0 && s.length == length) {
      names_.push_back(name);
    } else {
      names_.push_back(name + ":" + std::to_string(s.offset) + "-" + std::to_string(s.offset + s.length));
    }
  }
}

const RecordSlice& SlicedSequenceSet::slice(size_t record) const {
  KRAIT_CHECK(record < slices_.size(), path_, ": record ", record, " of ", slices_.size());
  return slices_[record];
}

uint64_t SlicedSequenceSet::record_length(size_t record) const { return slice(record).length; }
int32_t SlicedSequenceSet::record_label(size_t record) const { return base_.record_label(slice(record).record); }
const std::string& SlicedSequenceSet::record_name(size_t record) const {
  slice(record);
  return names_[record];
}

void SlicedSequenceSet::read(size_t record, uint64_t offset, uint64_t count, int32_t* out) const {
  const RecordSlice& s = slice(record);
  KRAIT_CHECK(offset <= s.length && count <= s.length - offset, path_, ": record '", names_[record], "' read of ",
              count, " ids at ", offset, " passes its end (", s.length, " ids)");
  base_.read(s.record, s.offset + offset, count, out);
}

}  // namespace krait::data
