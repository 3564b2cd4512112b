// tests/data/test_fasta.cpp — the FASTA reader on real genomes (tests/data/fixtures/dna, see its
// README), on gzip and plain copies, and on every kind of bad input.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "data/fasta.h"
#include "tests/data/error_text.h"
#include "tests/data/temp_dir.h"

namespace krait::data::testing {
namespace {

std::string fixture(const std::string& name) { return std::string(KRAIT_FIXTURES_DIR) + "/dna/" + name; }

void write_gzip(const std::string& path, const std::string& text) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

std::string text_of(const std::vector<char>& bytes) { return {bytes.begin(), bytes.end()}; }

// What the records hold, without their header lines, for comparing files of different layouts.
struct Content {
  std::string name, description, sequence;
  bool operator==(const Content&) const = default;
};

std::vector<Content> contents(const std::string& path) {
  std::vector<Content> out;
  for (FastaRecord& r : read_fasta_all(path)) out.push_back({r.name, r.description, r.sequence});
  return out;
}

size_t count_of(const std::string& sequence, char base) {
  return static_cast<size_t>(std::count(sequence.begin(), sequence.end(), base));
}

// The expected error: it names the file and the place (":line:" or ":line:column:") and says what.
void expect_error(const std::string& path, const std::string& place, const std::string& what) {
  const std::string message = error_text([&] { read_fasta_all(path); });
  EXPECT_TRUE(mentions(message, path + place)) << "place " << place;
  EXPECT_TRUE(mentions(message, what));
}

// Facts about the fixtures, counted once with python3 from the files in the Debian packages.
TEST(Fasta, ReadsThePhageLambdaGenomeFromGzip) {
  const auto records = read_fasta_all(fixture("lambda_virus.fa.gz"));
  ASSERT_EQ(records.size(), 1u);
  const FastaRecord& lambda = records[0];
  EXPECT_EQ(lambda.name, "gi|9626243|ref|NC_001416.1|");
  EXPECT_EQ(lambda.description, "Enterobacteria phage lambda, complete genome");
  EXPECT_EQ(lambda.line, 1);
  ASSERT_EQ(lambda.sequence.size(), 48502u);
  EXPECT_EQ(lambda.sequence.substr(0, 20), "GGGCGGCGACCTCGCGGGTT");
  EXPECT_EQ(lambda.sequence.substr(48502 - 20), "CGGTGATCCGACAGGTTACG");
  EXPECT_EQ(count_of(lambda.sequence, 'A'), 12334u);
  EXPECT_EQ(count_of(lambda.sequence, 'C'), 11362u);
  EXPECT_EQ(count_of(lambda.sequence, 'G'), 12820u);
  EXPECT_EQ(count_of(lambda.sequence, 'T'), 11986u);
}

TEST(Fasta, ReadsThreeBacterialRecordsFromAPlainFile) {
  const auto records = read_fasta_all(fixture("three_bacteria_60col.fa"));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].name, "ecoli_mg1655_1_15000");
  EXPECT_EQ(records[0].description, "Escherichia coli K-12 MG1655 chromosome, bases 1-15000");
  EXPECT_EQ(records[1].name, "saureus_n315_1_12000");
  EXPECT_EQ(records[2].name, "vcholerae_n16961_chrI_1561001_1576000");
  EXPECT_EQ(records[0].line, 1);  // 250, 200 and 250 lines of 60 bases
  EXPECT_EQ(records[1].line, 252);
  EXPECT_EQ(records[2].line, 453);
  EXPECT_EQ(records[0].sequence.size(), 15000u);
  EXPECT_EQ(records[1].sequence.size(), 12000u);
  EXPECT_EQ(records[2].sequence.size(), 15000u);
  EXPECT_EQ(records[0].sequence.substr(0, 20), "AGCTTTTCATTCTGACTGCA");
  EXPECT_EQ(records[1].sequence.substr(0, 20), "CGATTAAAGATAGAAATACA");
  EXPECT_EQ(records[2].sequence.substr(0, 20), "GATTGGGTTCAAAAGGCAGA");
  EXPECT_EQ(records[0].sequence.substr(15000 - 10), "CGCTGGGTGG");
  EXPECT_EQ(records[1].sequence.substr(12000 - 10), "AAATGGTGAT");
  EXPECT_EQ(records[2].sequence.substr(15000 - 10), "CTAGGTGTGA");
  EXPECT_EQ(count_of(records[1].sequence, 'A'), 4273u);
  EXPECT_EQ(count_of(records[1].sequence, 'C'), 1829u);
  // The V. cholerae slice carries four IUPAC ambiguity codes, kept as read.
  const std::string& vc = records[2].sequence;
  EXPECT_EQ(std::string({vc[423], vc[925], vc[941], vc[948]}), "KSSW");
  EXPECT_EQ(vc.find_first_not_of("ACGT"), 423u);
}

TEST(Fasta, GzipAndPlainWithDifferentLineWidthsReadTheSame) {
  const auto plain = contents(fixture("three_bacteria_60col.fa"));
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(contents(fixture("three_bacteria_80col.fa.gz")), plain);
  const auto gz = read_fasta_all(fixture("three_bacteria_80col.fa.gz"));
  EXPECT_EQ(gz[1].line, 190);  // 188 lines of 80 bases (the last 40) follow the first header
  EXPECT_EQ(gz[2].line, 341);
}

TEST(Fasta, OneLinePerRecordAndLinesLongerThanAChunkReadTheSame) {
  TempDir dir;
  const auto plain = contents(fixture("three_bacteria_60col.fa"));
  std::string text;
  for (const Content& c : plain) text += ">" + c.name + " " + c.description + "\n" + c.sequence + "\n";
  write_text(dir.file("wide.fa"), text);
  EXPECT_EQ(contents(dir.file("wide.fa")), plain);
  // A line longer than the reader's 64 KiB chunks: lambda and the three slices joined, 90,502 bases.
  std::string joined = read_fasta_all(fixture("lambda_virus.fa.gz")).at(0).sequence;
  for (const Content& c : plain) joined += c.sequence;
  write_text(dir.file("long.fa"), ">joined\n" + joined + "\n>after\nACGT\n");
  const auto records = read_fasta_all(dir.file("long.fa"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].sequence.size(), 90502u);
  EXPECT_EQ(records[0].sequence, joined);
  EXPECT_EQ(records[1].line, 3);
}

TEST(Fasta, DetectsGzipByItsMagicBytesNotTheName) {
  TempDir dir;
  write_bytes(dir.file("genome.fa"), read_bytes(fixture("three_bacteria_80col.fa.gz")));
  write_bytes(dir.file("genome.txt.gz"), read_bytes(fixture("three_bacteria_60col.fa")));
  const auto expected = contents(fixture("three_bacteria_60col.fa"));
  EXPECT_EQ(contents(dir.file("genome.fa")), expected);
  EXPECT_EQ(contents(dir.file("genome.txt.gz")), expected);
}

TEST(Fasta, ReadsConcatenatedGzipMembers) {
  TempDir dir;
  std::vector<char> bytes = read_bytes(fixture("lambda_virus.fa.gz"));
  const std::vector<char> second = read_bytes(fixture("three_bacteria_80col.fa.gz"));
  bytes.insert(bytes.end(), second.begin(), second.end());
  write_bytes(dir.file("both.fa.gz"), bytes);
  const auto records = read_fasta_all(dir.file("both.fa.gz"));
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].sequence.size(), 48502u);
  EXPECT_EQ(records[3].name, "vcholerae_n16961_chrI_1561001_1576000");
  EXPECT_EQ(records[3].line, 695 + 341);  // lambda's 695 lines (with a trailing blank one) come first
}

TEST(Fasta, ToleratesCrlfBlankLinesAndCommentLines) {
  TempDir dir;
  std::string text = "; a comment before the first record\r\n\r\n";
  for (char c : text_of(read_bytes(fixture("three_bacteria_60col.fa")))) {
    if (c == '\n') text += "\r";
    text += c;
    if (c == '\n' && text.size() % 7 == 0) text += "\r\n;comment\n   \t\n";
  }
  write_text(dir.file("crlf.fa"), text);
  EXPECT_EQ(contents(dir.file("crlf.fa")), contents(fixture("three_bacteria_60col.fa")));
}

TEST(Fasta, KeepsCaseAndDropsGapsAndSpaces) {
  TempDir dir;
  write_text(dir.file("x.fa"), ">  seq1   first  record \t\nacgtN-RYk\n AC GT\t-\n>seq2\nuU");
  const auto records = read_fasta_all(dir.file("x.fa"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "seq1");
  EXPECT_EQ(records[0].description, "first  record");
  EXPECT_EQ(records[0].sequence, "acgtNRYkACGT");
  EXPECT_EQ(records[1].name, "seq2");
  EXPECT_EQ(records[1].description, "");
  EXPECT_EQ(records[1].sequence, "uU");  // the last line has no newline
}

TEST(Fasta, StreamsRecordsInFileOrder) {
  std::vector<std::string> names;
  read_fasta(fixture("three_bacteria_80col.fa.gz"), [&](FastaRecord&& r) { names.push_back(r.name); });
  EXPECT_EQ(names, (std::vector<std::string>{"ecoli_mg1655_1_15000", "saureus_n315_1_12000",
                                             "vcholerae_n16961_chrI_1561001_1576000"}));
}

TEST(FastaErrors, SequenceBeforeTheFirstHeader) {
  TempDir dir;
  write_text(dir.file("x.fa"), "\n; comment\nACGT\n>s1\nACGT\n");
  expect_error(dir.file("x.fa"), ":3:", "sequence data before the first '>' header");
}

TEST(FastaErrors, HeaderWithAnEmptyName) {
  TempDir dir;
  write_text(dir.file("x.fa"), ">s1\nACGT\n> \t\nACGT\n");
  expect_error(dir.file("x.fa"), ":3:", "empty record name");
}

TEST(FastaErrors, CharacterThatIsNotANucleotide) {
  TempDir dir;
  write_text(dir.file("x.fa"), ">s1\nACGT\nACXT\n");
  expect_error(dir.file("x.fa"), ":3:3:", "character 'X' in record 's1' is not an IUPAC nucleotide code");
  write_text(dir.file("star.fa"), ">s1 protein?\r\nMKV*\r\n");  // M, K and V are IUPAC codes; '*' is not
  expect_error(dir.file("star.fa"), ":2:4:", "character '*'");
  write_text(dir.file("digits.fa"), ">s1\n     1 acgtacgt\n");
  expect_error(dir.file("digits.fa"), ":2:6:", "character '1'");
  write_text(dir.file("control.fa"), std::string(">s1\nAC\x01T\n"));
  expect_error(dir.file("control.fa"), ":2:3:", "byte 0x01");
}

TEST(FastaErrors, BadCharacterInsideGzipNamesTheDecompressedLine) {
  TempDir dir;
  write_gzip(dir.file("x.fa.gz"), ">a\nACGT\nACGT\n>b\nAC.T\n");
  expect_error(dir.file("x.fa.gz"), ":5:3:", "character '.' in record 'b'");
}

TEST(FastaErrors, TruncatedGzip) {
  TempDir dir;
  const std::vector<char> bytes = read_bytes(fixture("three_bacteria_80col.fa.gz"));
  write_bytes(dir.file("half.fa.gz"), std::vector<char>(bytes.begin(), bytes.begin() + bytes.size() / 2));
  expect_error(dir.file("half.fa.gz"), ": gzip stream is truncated or corrupt after line ", "zlib:");
  // Without the 8-byte trailer (CRC and length) the data all inflate but the stream is unfinished.
  write_bytes(dir.file("no_trailer.fa.gz"), std::vector<char>(bytes.begin(), bytes.end() - 8));
  expect_error(dir.file("no_trailer.fa.gz"), ": gzip stream is truncated or corrupt", "zlib:");
  write_bytes(dir.file("magic_only.fa.gz"), std::vector<char>(bytes.begin(), bytes.begin() + 2));
  expect_error(dir.file("magic_only.fa.gz"), ": gzip stream is truncated or corrupt", "zlib:");
}

TEST(FastaErrors, CorruptGzip) {
  TempDir dir;
  std::vector<char> bytes = read_bytes(fixture("lambda_virus.fa.gz"));
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  write_bytes(dir.file("corrupt.fa.gz"), bytes);
  expect_error(dir.file("corrupt.fa.gz"), ": gzip stream is truncated or corrupt", "zlib:");
}

TEST(FastaErrors, EmptyFileOrNoRecords) {
  TempDir dir;
  write_text(dir.file("empty.fa"), "");
  expect_error(dir.file("empty.fa"), ": no FASTA records", "empty");
  write_text(dir.file("comments.fa"), "; nothing\n\n  \n");
  expect_error(dir.file("comments.fa"), ": no FASTA records", "comment");
  write_gzip(dir.file("empty.fa.gz"), "");
  expect_error(dir.file("empty.fa.gz"), ": no FASTA records", "empty");
}

TEST(FastaErrors, RecordWithAnEmptySequence) {
  TempDir dir;
  write_text(dir.file("first.fa"), ">a\n>b\nACGT\n");
  expect_error(dir.file("first.fa"), ":1:", "record 'a' has an empty sequence");
  write_text(dir.file("last.fa"), ">a\nACGT\n>b desc\n\n");
  expect_error(dir.file("last.fa"), ":3:", "record 'b' has an empty sequence");
  write_text(dir.file("gaps.fa"), ">a\nACGT\n>b\n----\n");
  expect_error(dir.file("gaps.fa"), ":3:", "record 'b' has an empty sequence");
}

TEST(FastaErrors, MissingFile) {
  TempDir dir;
  expect_error(dir.file("absent.fa"), ": cannot open FASTA file", "No such file");
}

TEST(FastaErrors, DirectoryInsteadOfAFile) {
  TempDir dir;
  expect_error(dir.file(""), ": read error", "directory");
}

TEST(FastaErrors, DuplicateRecordNames) {
  TempDir dir;
  write_text(dir.file("x.fa"), ">a one\nAC\n>b\nAC\n>a two\nAC\n");
  expect_error(dir.file("x.fa"), ":5:", "record name 'a' is used twice (first at line 1)");
}

}  // namespace
}  // namespace krait::data::testing
