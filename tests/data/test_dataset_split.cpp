// tests/data/test_dataset_split.cpp — train / valid / test splits of small synthetic SequenceSets:
// the fractions each rule reaches, that no part overlaps another, determinism under a seed, and the
// errors; SlicedSequenceSet's names and reads.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "data/dataset_split.h"
#include "tests/data/error_text.h"

namespace krait::data {
namespace {

using testing::error_text;
using testing::mentions;

// Records named by `names`, record r holding `lengths[r]` ids counting from r * 1000 (mod vocab).
InMemorySequenceSet make_set(const std::vector<std::string>& names, const std::vector<size_t>& lengths) {
  std::vector<SequenceRecord> records;
  for (size_t r = 0; r < names.size(); ++r) {
    SequenceRecord record{names[r], kNoLabel, std::vector<uint16_t>(lengths[r])};
    for (size_t i = 0; i < lengths[r]; ++i) record.ids[i] = static_cast<uint16_t>((r * 1000 + i) % 65536);
    records.push_back(std::move(record));
  }
  return InMemorySequenceSet("<synthetic>", 65536, {}, std::move(records));
}

InMemorySequenceSet uniform_set(size_t n, size_t length) {
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) names.push_back("rec" + std::to_string(i));
  return make_set(names, std::vector<size_t>(n, length));
}

uint64_t ids_in(const std::vector<RecordSlice>& slices) {
  uint64_t n = 0;
  for (const RecordSlice& s : slices) n += s.length;
  return n;
}

// Every id position of the set is in at most one part, and (when `complete`) in exactly one.
void expect_disjoint(const SequenceSet& set, const DatasetSplit& split, bool complete = true) {
  std::vector<std::vector<int>> owner(set.num_records());
  for (size_t r = 0; r < set.num_records(); ++r) owner[r].assign(set.record_length(r), -1);
  for (SplitPart part : kSplitParts) {
    for (const RecordSlice& s : split.part(part)) {
      ASSERT_LT(s.record, set.num_records());
      ASSERT_LE(s.offset + s.length, set.record_length(s.record));
      for (uint64_t i = s.offset; i < s.offset + s.length; ++i) {
        ASSERT_EQ(owner[s.record][i], -1) << "record " << s.record << " position " << i << " in two parts";
        owner[s.record][i] = static_cast<int>(part);
      }
    }
  }
  if (!complete) return;
  for (size_t r = 0; r < set.num_records(); ++r) {
    for (int o : owner[r]) ASSERT_NE(o, -1) << "record " << r << " is not fully assigned";
  }
}

std::set<size_t> records_in(const std::vector<RecordSlice>& slices) {
  std::set<size_t> records;
  for (const RecordSlice& s : slices) records.insert(s.record);
  return records;
}

TEST(DatasetSplit, RegionCutsEachRecordByFraction) {
  const auto set = make_set({"human", "mouse"}, {1000, 500});
  SplitOptions options{.rule = SplitRule::region, .valid_fraction = 0.1, .test_fraction = 0.2};
  const DatasetSplit split = split_dataset(set, options);
  expect_disjoint(set, split);
  EXPECT_EQ(split.part(SplitPart::train),
            (std::vector<RecordSlice>{{0, 0, 700}, {1, 0, 350}}));
  EXPECT_EQ(split.part(SplitPart::valid),
            (std::vector<RecordSlice>{{0, 700, 100}, {1, 350, 50}}));
  EXPECT_EQ(split.part(SplitPart::test),
            (std::vector<RecordSlice>{{0, 800, 200}, {1, 400, 100}}));
}

TEST(DatasetSplit, RegionSizeGivesSharedCoordinates) {
  // Two aligned "genomes" of slightly different lengths: with region_size 100, test is positions
  // 90..99 of every 100 in both.
  const auto set = make_set({"a", "b"}, {1000, 1040});
  SplitOptions options{.rule = SplitRule::region, .valid_fraction = 0.1, .test_fraction = 0.1, .region_size = 100};
  const DatasetSplit split = split_dataset(set, options);
  expect_disjoint(set, split);
  for (const RecordSlice& s : split.part(SplitPart::test)) {
    EXPECT_EQ(s.offset % 100, 90u);
    EXPECT_EQ(s.length, 10u);
  }
  for (const RecordSlice& s : split.part(SplitPart::valid)) EXPECT_EQ(s.offset % 100, 80u);
  EXPECT_EQ(split.part(SplitPart::test).size(), 20u);       // 10 regions each; b's 40-id tail has none
  EXPECT_EQ(ids_in(split.part(SplitPart::train)), 1600u + 40u);
  EXPECT_EQ(ids_in(split.part(SplitPart::valid)), 200u);
}

TEST(DatasetSplit, RegionWithoutHeldOutPartsMergesTrain) {
  const auto set = make_set({"a"}, {1000});
  SplitOptions options{.rule = SplitRule::region, .valid_fraction = 0, .test_fraction = 0, .region_size = 100};
  const DatasetSplit split = split_dataset(set, options);
  EXPECT_EQ(split.part(SplitPart::train), (std::vector<RecordSlice>{{0, 0, 1000}}));
  EXPECT_TRUE(split.part(SplitPart::valid).empty());
  EXPECT_TRUE(split.part(SplitPart::test).empty());
}

TEST(DatasetSplit, RecordSplitIsDeterministicAndNearTheFractions) {
  const auto set = uniform_set(100, 10);
  SplitOptions options{.rule = SplitRule::record, .valid_fraction = 0.1, .test_fraction = 0.2, .seed = 7};
  const DatasetSplit a = split_dataset(set, options);
  const DatasetSplit b = split_dataset(set, options);
  expect_disjoint(set, a);
  EXPECT_EQ(a.parts, b.parts);
  EXPECT_EQ(a.part(SplitPart::train).size(), 70u);
  EXPECT_EQ(a.part(SplitPart::valid).size(), 10u);
  EXPECT_EQ(a.part(SplitPart::test).size(), 20u);
  for (SplitPart part : kSplitParts) {
    for (const RecordSlice& s : a.part(part)) {
      EXPECT_EQ(s.offset, 0u);
      EXPECT_EQ(s.length, 10u);
    }
  }
  options.seed = 8;
  const DatasetSplit c = split_dataset(set, options);
  EXPECT_NE(records_in(a.part(SplitPart::test)), records_in(c.part(SplitPart::test)));
}

TEST(DatasetSplit, RecordSplitWeighsByIds) {
  // One long record holds half of all ids: it alone is closest to a test share of 0.5.
  const auto set = make_set({"big", "s1", "s2", "s3", "s4"}, {400, 100, 100, 100, 100});
  SplitOptions options{.rule = SplitRule::record, .valid_fraction = 0, .test_fraction = 0.5, .seed = 1};
  const DatasetSplit split = split_dataset(set, options);
  expect_disjoint(set, split);
  const uint64_t test_ids = ids_in(split.part(SplitPart::test));
  EXPECT_GE(test_ids, 300u);
  EXPECT_LE(test_ids, 500u);
}

TEST(DatasetSplit, FractionsAddingUpToOneLeaveTrainEmpty) {
  const auto set = uniform_set(10, 10);
  for (SplitRule rule : {SplitRule::record, SplitRule::region}) {
    const DatasetSplit all_test = split_dataset(set, {.rule = rule, .valid_fraction = 0, .test_fraction = 1});
    expect_disjoint(set, all_test);
    EXPECT_TRUE(all_test.part(SplitPart::train).empty());
    EXPECT_EQ(ids_in(all_test.part(SplitPart::test)), 100u);
    const DatasetSplit halves = split_dataset(set, {.rule = rule, .valid_fraction = 0.3, .test_fraction = 0.7});
    expect_disjoint(set, halves);
    EXPECT_TRUE(halves.part(SplitPart::train).empty());
    EXPECT_EQ(ids_in(halves.part(SplitPart::valid)), 30u);
    EXPECT_EQ(ids_in(halves.part(SplitPart::test)), 70u);
  }
}

TEST(DatasetSplit, GroupKeepsEachSpeakerInOnePart) {
  std::vector<std::string> names;
  for (const char* speaker : {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}) {
    for (int clip = 0; clip < 4; ++clip) names.push_back("wavs/" + std::string(speaker) + "_" + std::to_string(clip) + ".wav");
  }
  const auto set = make_set(names, std::vector<size_t>(names.size(), 50));
  SplitOptions options{.rule = SplitRule::group, .valid_fraction = 0.1, .test_fraction = 0.2,
                       .group_regex = "/([a-z]+)_[0-9]+\\.wav$", .seed = 3};
  const DatasetSplit split = split_dataset(set, options);
  expect_disjoint(set, split);
  EXPECT_EQ(split.groups_of(SplitPart::train).size(), 7u);
  EXPECT_EQ(split.groups_of(SplitPart::valid).size(), 1u);
  EXPECT_EQ(split.groups_of(SplitPart::test).size(), 2u);
  std::map<std::string, SplitPart> part_of_speaker;
  for (SplitPart part : kSplitParts) {
    for (const RecordSlice& s : split.part(part)) {
      const std::string speaker = record_group(set.record_name(s.record), options);
      const auto [it, inserted] = part_of_speaker.emplace(speaker, part);
      EXPECT_EQ(it->second, part) << speaker << " is in two parts";
    }
  }
  EXPECT_EQ(part_of_speaker.size(), 10u);
  EXPECT_EQ(split_dataset(set, options).parts, split.parts);
  EXPECT_EQ(split_dataset(set, options).groups, split.groups);
}

TEST(DatasetSplit, GroupByFolder) {
  const auto set = make_set({"spk1/a.wav", "spk1/b.wav", "spk2/a.wav", "spk3/a.wav", "spk3/c.wav"},
                            {10, 10, 10, 10, 10});
  SplitOptions options{.rule = SplitRule::group, .valid_fraction = 0.2, .test_fraction = 0.2,
                       .group_by = GroupBy::folder, .seed = 0};
  const DatasetSplit split = split_dataset(set, options);
  expect_disjoint(set, split);
  for (SplitPart part : kSplitParts) EXPECT_EQ(split.groups_of(part).size(), 1u);
  EXPECT_EQ(record_group("x/spk9/a.wav", options), "spk9");
  EXPECT_TRUE(mentions(error_text([&] { record_group("a.wav", options); }), "no parent folder"));
}

TEST(DatasetSplit, RegexWithoutCaptureUsesTheWholeMatch) {
  SplitOptions options{.rule = SplitRule::group, .group_regex = "spk[0-9]+"};
  EXPECT_EQ(record_group("data/spk12_utt3.wav", options), "spk12");
}

TEST(DatasetSplit, Errors) {
  const auto set = uniform_set(3, 10);
  const auto message = [&](SplitOptions options) { return error_text([&] { split_dataset(set, options); }); };
  EXPECT_TRUE(mentions(message({.valid_fraction = -0.1}), "valid fraction -0.1 is not in [0, 1]"));
  EXPECT_TRUE(mentions(message({.valid_fraction = 0.6, .test_fraction = 0.5}), "add up to more than 1"));
  EXPECT_TRUE(mentions(message({.rule = SplitRule::group, .group_regex = "("}), "is invalid"));
  EXPECT_TRUE(mentions(message({.rule = SplitRule::group, .group_regex = "^spk"}),
                       "record 'rec0' does not match the group regex '^spk'"));
  EXPECT_TRUE(mentions(message({.rule = SplitRule::group, .group_regex = "rec"}),
                       "1 group cannot fill the 3 parts"));
  EXPECT_TRUE(mentions(message({.rule = SplitRule::group, .group_by = GroupBy::regex}), "no group regex"));
  const auto two = uniform_set(2, 10);
  EXPECT_TRUE(mentions(error_text([&] { split_dataset(two, {.rule = SplitRule::record}); }),
                       "2 records cannot fill the 3 parts"));
  // Records of 3 ids: 10% of 3 rounds to nothing, so valid and test would be empty.
  const auto tiny = uniform_set(4, 3);
  EXPECT_TRUE(mentions(error_text([&] { split_dataset(tiny, {.rule = SplitRule::region}); }),
                       "part empty (4 records, 12 ids"));
  const InMemorySequenceSet empty("<empty>", 7, {}, {});
  EXPECT_TRUE(mentions(error_text([&] { split_dataset(empty, {}); }), "no records"));
  EXPECT_EQ(parse_split_rule("group"), SplitRule::group);
  EXPECT_TRUE(mentions(error_text([] { parse_split_rule("random"); }), "unknown split rule 'random'"));
}

TEST(DatasetSplit, SlicedSetNamesAndReads) {
  std::vector<SequenceRecord> records = {{"chr1", 1, {0, 1, 2, 3, 4, 5}}, {"chr2", 0, {6, 5, 4}}};
  const InMemorySequenceSet base("<base>", 7, {"a", "b"}, std::move(records));
  const SlicedSequenceSet sliced(base, {{0, 2, 3}, {1, 0, 3}}, "<train>");
  ASSERT_EQ(sliced.num_records(), 2u);
  EXPECT_EQ(sliced.record_name(0), "chr1:2-5");
  EXPECT_EQ(sliced.record_name(1), "chr2");
  EXPECT_EQ(sliced.record_label(0), 1);
  EXPECT_EQ(sliced.record_length(0), 3u);
  EXPECT_EQ(sliced.total_length(), 6u);
  EXPECT_EQ(sliced.class_names(), base.class_names());
  std::vector<int32_t> ids(2);
  sliced.read(0, 1, 2, ids.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{3, 4}));
  EXPECT_TRUE(mentions(error_text([&] { sliced.read(0, 2, 2, ids.data()); }), "passes its end"));
  EXPECT_TRUE(mentions(error_text([&] { SlicedSequenceSet(base, {{1, 2, 2}}, "<bad>"); }),
                       "passes the end of record 'chr2'"));
}

}  // namespace
}  // namespace krait::data
