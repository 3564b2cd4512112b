// tests/data/test_fasta_set.cpp — read_fasta_set: the fixture genomes as a SequenceSet of DNA ids,
// unlabeled and labeled through a manifest by file and by record.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "data/dna_tokenizer.h"
#include "data/fasta_set.h"
#include "tests/data/error_text.h"
#include "tests/data/temp_dir.h"

namespace krait::data::testing {
namespace {

std::string fixture(const std::string& name) { return std::string(KRAIT_FIXTURES_DIR) + "/dna/" + name; }

const std::string kEcoli = "ecoli_mg1655_1_15000";
const std::string kSaureus = "saureus_n315_1_12000";
const std::string kVcholerae = "vcholerae_n16961_chrI_1561001_1576000";

std::vector<std::string> both_files() { return {fixture("lambda_virus.fa.gz"), fixture("three_bacteria_60col.fa")}; }

std::vector<int32_t> read_all(const SequenceSet& set, size_t record) {
  std::vector<int32_t> ids(set.record_length(record));
  set.read(record, 0, ids.size(), ids.data());
  return ids;
}

std::vector<int32_t> labels(const SequenceSet& set) {
  std::vector<int32_t> out;
  for (size_t r = 0; r < set.num_records(); ++r) out.push_back(set.record_label(r));
  return out;
}

FastaSetOptions labeled(const std::string& manifest, LabelKey by) {
  FastaSetOptions options;
  options.manifest = manifest;
  options.label_by = by;
  return options;
}

TEST(FastaSet, ReadsEveryRecordOfEveryFileUnlabeled) {
  const auto files = both_files();
  const InMemorySequenceSet set = read_fasta_set(files);
  ASSERT_EQ(set.num_records(), 4u);
  EXPECT_EQ(set.vocab_size(), DnaTokenizer::kVocabSize);
  EXPECT_FALSE(set.labeled());
  EXPECT_EQ(labels(set), (std::vector<int32_t>(4, kNoLabel)));
  EXPECT_EQ(set.record_name(0), files[0] + ":gi|9626243|ref|NC_001416.1|");
  EXPECT_EQ(set.record_name(1), files[1] + ":" + kEcoli);
  EXPECT_EQ(set.record_name(3), files[1] + ":" + kVcholerae);
  EXPECT_EQ(set.record_length(0), 48502u);
  EXPECT_EQ(set.record_length(2), 12000u);
  EXPECT_EQ(set.total_length(), 48502u + 15000u + 12000u + 15000u);
  EXPECT_EQ(set.path(), files[0] + " (and 1 more file)");
  std::vector<int32_t> first(8);
  set.read(2, 0, first.size(), first.data());
  EXPECT_EQ(DnaTokenizer().decode(first), "CGATTAAA");
}

TEST(FastaSet, AmbiguityCodesBecomeN) {
  const InMemorySequenceSet set = read_fasta_set({fixture("three_bacteria_80col.fa.gz")});
  const std::vector<int32_t> ids = read_all(set, 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), DnaTokenizer::kN), 4);
  for (size_t at : {423, 925, 941, 948}) EXPECT_EQ(ids[at], DnaTokenizer::kN) << "position " << at;
}

TEST(FastaSet, GzipAndPlainFilesGiveTheSameIds) {
  const InMemorySequenceSet plain = read_fasta_set({fixture("three_bacteria_60col.fa")});
  const InMemorySequenceSet gz = read_fasta_set({fixture("three_bacteria_80col.fa.gz")});
  ASSERT_EQ(gz.num_records(), plain.num_records());
  for (size_t r = 0; r < plain.num_records(); ++r) EXPECT_EQ(read_all(gz, r), read_all(plain, r)) << "record " << r;
}

TEST(FastaSet, LabelsByFileBasenameOrPathAsGiven) {
  TempDir dir;
  const auto files = both_files();
  write_text(dir.file("labels.tsv"), "# file\tclass\nlambda_virus.fa.gz\tphage\n" + files[1] + "\tbacterium\n");
  const InMemorySequenceSet set = read_fasta_set(files, labeled(dir.file("labels.tsv"), LabelKey::File));
  EXPECT_EQ(set.class_names(), (std::vector<std::string>{"phage", "bacterium"}));
  EXPECT_EQ(labels(set), (std::vector<int32_t>{0, 1, 1, 1}));
}

TEST(FastaSet, LabelsByRecordNameOrFileQualifiedName) {
  TempDir dir;
  const auto files = both_files();
  write_text(dir.file("labels.tsv"), kEcoli + "\tgram-negative\n" + kSaureus + "\tgram-positive\n" + files[1] + ":" +
                                         kVcholerae + "\tgram-negative\ngi|9626243|ref|NC_001416.1|\tvirus\n");
  const InMemorySequenceSet set = read_fasta_set(files, labeled(dir.file("labels.tsv"), LabelKey::Record));
  EXPECT_EQ(set.class_names(), (std::vector<std::string>{"gram-negative", "gram-positive", "virus"}));
  EXPECT_EQ(labels(set), (std::vector<int32_t>{2, 0, 1, 0}));
}

TEST(FastaSet, MissingFileLabelNamesTheFileAndTheManifest) {
  TempDir dir;
  const auto files = both_files();
  write_text(dir.file("labels.tsv"), "lambda_virus.fa.gz\tphage\n");
  const std::string message =
      error_text([&] { read_fasta_set(files, labeled(dir.file("labels.tsv"), LabelKey::File)); });
  EXPECT_TRUE(mentions(message, "FASTA file '" + files[1] + "'"));
  EXPECT_TRUE(mentions(message, "no label for 'three_bacteria_60col.fa'"));
  EXPECT_TRUE(mentions(message, dir.file("labels.tsv")));
}

TEST(FastaSet, MissingRecordLabelNamesTheRecordItsLineAndTheManifest) {
  TempDir dir;
  const std::string file = fixture("three_bacteria_60col.fa");
  write_text(dir.file("labels.tsv"), kEcoli + "\tgram-negative\n" + kVcholerae + "\tgram-negative\n");
  const std::string message =
      error_text([&] { read_fasta_set({file}, labeled(dir.file("labels.tsv"), LabelKey::Record)); });
  EXPECT_TRUE(mentions(message, file + ":252: record '" + kSaureus + "'"));
  EXPECT_TRUE(mentions(message, dir.file("labels.tsv")));
}

TEST(FastaSet, ReaderErrorsNameTheFile) {
  TempDir dir;
  write_text(dir.file("bad.fa"), ">ok\nACGT\n>bad\nACGJ\n");
  const std::string message = error_text([&] { read_fasta_set({fixture("three_bacteria_60col.fa"), dir.file("bad.fa")}); });
  EXPECT_TRUE(mentions(message, dir.file("bad.fa") + ":4:4: character 'J'"));
}

TEST(FastaSet, RejectsNoFilesAndAFileGivenTwice) {
  EXPECT_TRUE(mentions(error_text([] { read_fasta_set({}); }), "no FASTA files given"));
  const std::string file = fixture("lambda_virus.fa.gz");
  EXPECT_TRUE(mentions(error_text([&] { read_fasta_set({file, file}); }), "'" + file + "' is given twice"));
}

TEST(FastaSet, MissingManifestIsAnError) {
  TempDir dir;
  const std::string message = error_text(
      [&] { read_fasta_set({fixture("lambda_virus.fa.gz")}, labeled(dir.file("absent.tsv"), LabelKey::File)); });
  EXPECT_TRUE(mentions(message, dir.file("absent.tsv")));
}

}  // namespace
}  // namespace krait::data::testing
