// data/dataset_split.h — splitting one SequenceSet into train / valid / test so that nothing in
// valid or test overlaps train. A split is a list of RecordSlices (a record, or a contiguous part of
// one) per part; SlicedSequenceSet shows such a list as a SequenceSet without copying ids.
//
// Rules:
//   region  every record is cut into contiguous parts. Region r of a record is [r R, (r + 1) R) with
//           R = region_size (0: R = the record's length, one region per record); of each region the
//           first (1 - v - t) goes to train, the next v to valid and the last t to test. With a fixed
//           R the cut points fall at the same coordinates in every record, so aligned genomes of
//           several species share their test regions. A region cut short by the record's end keeps
//           the same cut points (so a short tail may have no valid or test part).
//   record  whole records, assigned after a seeded shuffle.
//   group   whole records, all records of a group (a regex capture of the record name, e.g. a speaker
//           in a file name, or the record name's parent folder) to the same part; the groups are
//           sorted, then shuffled with the seed.
// For record and group, shuffled groups fill test first, then valid, each taking groups while that
// brings its share of ids closer to its fraction (at least one group when the fraction is > 0);
// train takes the rest. Every part with a fraction > 0 must end up non-empty, or the split throws.
// Fractions may add up to 1 (e.g. test 1: everything is test); train is then empty. Everything is
// deterministic given the set, the options and the seed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/sequence_set.h"

namespace krait::data {

enum class SplitRule { region, record, group };
enum class SplitPart { train = 0, valid = 1, test = 2 };
inline constexpr std::array<SplitPart, 3> kSplitParts = {SplitPart::train, SplitPart::valid, SplitPart::test};

const char* split_rule_name(SplitRule rule);  // "region", "record", "group"
SplitRule parse_split_rule(const std::string& text);
const char* split_part_name(SplitPart part);  // "train", "valid", "test"

enum class GroupBy { regex, folder };

struct SplitOptions {
  SplitRule rule = SplitRule::record;
  double valid_fraction = 0.1;
  double test_fraction = 0.1;
  uint64_t region_size = 0;       // region: 0 = the whole record is one region
  GroupBy group_by = GroupBy::regex;
  std::string group_regex = {};   // group: capture group 1 (or the whole match) of the record name
  uint64_t seed = 0;              // record, group: the shuffle's seed
};

// Part of one record: ids [offset, offset + length) of record `record`.
struct RecordSlice {
  size_t record = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const RecordSlice&) const = default;
};

struct DatasetSplit {
  std::array<std::vector<RecordSlice>, 3> parts;    // indexed by SplitPart
  std::array<std::vector<std::string>, 3> groups;   // group rule: the group keys in each part, sorted

  const std::vector<RecordSlice>& part(SplitPart p) const { return parts[static_cast<size_t>(p)]; }
  const std::vector<std::string>& groups_of(SplitPart p) const { return groups[static_cast<size_t>(p)]; }
};

// Throws krait::Error on fractions outside [0, 1] or adding up to more than 1, a bad regex, a record name
// the regex does not match, too few records or groups for the parts, or a part left empty.
DatasetSplit split_dataset(const SequenceSet& set, const SplitOptions& options);

// The group key of a record name under options (group rule): regex capture 1 if the regex has a
// capture group, else the whole match (std::regex_search, ECMAScript); or the parent folder's name.
std::string record_group(const std::string& name, const SplitOptions& options);

// A SequenceSet made of slices of another set, which must outlive it. A slice covering a whole
// record keeps the record's name; a part of a record is named "NAME:BEGIN-END" (0-based, end
// exclusive). Labels, vocab_size and class_names are the base set's.
class SlicedSequenceSet final : public SequenceSet {
 public:
  // Throws if a slice passes its record's end. path names the set in messages.
  SlicedSequenceSet(const SequenceSet& base, std::vector<RecordSlice> slices, std::string path);

  size_t num_records() const override { return slices_.size(); }
  uint64_t record_length(size_t record) const override;
  int32_t record_label(size_t record) const override;
  const std::string& record_name(size_t record) const override;
  void read(size_t record, uint64_t offset, uint64_t count, int32_t* out) const override;
  uint32_t vocab_size() const override { return base_.vocab_size(); }
  const std::vector<std::string>& class_names() const override { return base_.class_names(); }
  const std::string& path() const override { return path_; }

  const RecordSlice& slice(size_t record) const;

 private:
  const SequenceSet& base_;
  std::vector<RecordSlice> slices_;
  std::vector<std::string> names_;
  std::string path_;
};

}  // namespace krait::data
