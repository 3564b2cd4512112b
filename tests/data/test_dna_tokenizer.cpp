// tests/data/test_dna_tokenizer.cpp — DnaTokenizer: ids, IUPAC codes, decoding, reverse complement,
// on short strings and on the phage lambda and V. cholerae fixtures.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "data/dna_tokenizer.h"
#include "data/fasta.h"
#include "tests/data/error_text.h"

namespace krait::data::testing {
namespace {

std::string fixture(const std::string& name) { return std::string(KRAIT_FIXTURES_DIR) + "/dna/" + name; }

std::vector<int32_t> widen(const std::vector<uint16_t>& ids) { return {ids.begin(), ids.end()}; }

std::vector<int32_t> encode32(std::string_view bases) { return widen(DnaTokenizer().encode(bases)); }

TEST(DnaTokenizer, IdsAndVocabulary) {
  EXPECT_EQ(DnaTokenizer::kVocabSize, 7u);
  EXPECT_EQ(encode32("ACGTN"), (std::vector<int32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(DnaTokenizer::kPad, 5);
  EXPECT_EQ(DnaTokenizer::kEndOfSequence, 6);
  EXPECT_TRUE(DnaTokenizer().encode("").empty());
}

TEST(DnaTokenizer, FoldsCaseAndReadsUAsT) {
  EXPECT_EQ(encode32("acgtn"), encode32("ACGTN"));
  EXPECT_EQ(encode32("UuTt"), (std::vector<int32_t>(4, DnaTokenizer::kT)));
}

TEST(DnaTokenizer, MapsEveryAmbiguityCodeToN) {
  const std::string codes = "RYKMSWBDHVNryskmwbdhvn";
  EXPECT_EQ(encode32(codes), (std::vector<int32_t>(codes.size(), DnaTokenizer::kN)));
}

TEST(DnaTokenizer, BaseIdRejectsEverythingElse) {
  for (int c = 0; c < 256; ++c) {
    const bool iupac = std::string_view("ACGTUNRYKMSWBDHVacgtunrykmswbdhv").find(static_cast<char>(c)) !=
                       std::string_view::npos;
    EXPECT_EQ(DnaTokenizer::base_id(static_cast<char>(c)) >= 0, iupac) << "byte " << c;
  }
}

TEST(DnaTokenizer, EncodeRejectsNonNucleotidesNamingThePosition) {
  const DnaTokenizer tokenizer;
  EXPECT_TRUE(mentions(error_text([&] { tokenizer.encode("ACG-T"); }), "character '-' (byte 45) at position 3"));
  EXPECT_TRUE(mentions(error_text([&] { tokenizer.encode("X"); }), "at position 0 is not an IUPAC nucleotide code"));
}

TEST(DnaTokenizer, EncodeAppendAppends) {
  const DnaTokenizer tokenizer;
  std::vector<uint16_t> ids = {DnaTokenizer::kEndOfSequence};
  tokenizer.encode_append("gat", ids);
  EXPECT_EQ(ids, (std::vector<uint16_t>{6, 2, 0, 3}));
}

TEST(DnaTokenizer, DecodeWritesUppercaseBasesPadAndEndOfSequence) {
  const DnaTokenizer tokenizer;
  EXPECT_EQ(tokenizer.decode(std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6}), "ACGTN_|");
  EXPECT_EQ(tokenizer.decode(encode32("acgUR")), "ACGTN");
}

TEST(DnaTokenizer, DecodeRejectsIdsOutsideTheVocab) {
  const DnaTokenizer tokenizer;
  EXPECT_TRUE(mentions(error_text([&] { tokenizer.decode(std::vector<int32_t>{0, 7}); }),
                       "id 7 at position 1 is outside the vocabulary [0, 7)"));
  EXPECT_TRUE(mentions(error_text([&] { tokenizer.decode(std::vector<int32_t>{-1}); }), "id -1 at position 0"));
}

TEST(DnaTokenizer, RoundTripsTheLambdaGenome) {
  const std::string lambda = read_fasta_all(fixture("lambda_virus.fa.gz")).at(0).sequence;
  const std::vector<int32_t> ids = encode32(lambda);
  ASSERT_EQ(ids.size(), 48502u);
  EXPECT_EQ(DnaTokenizer().decode(ids), lambda);  // upper-case ACGT only, so decoding gives it back
}

TEST(DnaTokenizer, ComplementTable) {
  const std::vector<int32_t> table = DnaTokenizer::complement_table();
  EXPECT_EQ(table, (std::vector<int32_t>{3, 2, 1, 0, 4, 5, 6}));
  for (size_t id = 0; id < table.size(); ++id) EXPECT_EQ(table[static_cast<size_t>(table[id])], static_cast<int32_t>(id));
}

TEST(DnaTokenizer, ReverseComplementInPlace) {
  std::vector<int32_t> ids = encode32("AACGTN");
  ids.push_back(DnaTokenizer::kEndOfSequence);
  DnaTokenizer::reverse_complement(ids);
  EXPECT_EQ(DnaTokenizer().decode(ids), "|NACGTT");
  std::vector<int32_t> none;
  DnaTokenizer::reverse_complement(none);
  EXPECT_TRUE(none.empty());
}

TEST(DnaTokenizer, ReverseComplementOfARealSlice) {
  // The V. cholerae slice, its four ambiguity codes (at 423, 925, 941, 948) read as N.
  const std::string bases = read_fasta_all(fixture("three_bacteria_60col.fa")).at(2).sequence;
  const std::vector<int32_t> forward = encode32(bases);
  std::vector<int32_t> ids = forward;
  DnaTokenizer::reverse_complement(ids);
  ASSERT_EQ(ids.size(), 15000u);
  EXPECT_EQ(DnaTokenizer().decode(std::span(ids).first(10)), "TCACACCTAG");  // of ...CTAGGTGTGA
  EXPECT_EQ(ids[15000 - 1 - 423], DnaTokenizer::kN);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), DnaTokenizer::kA), std::count(forward.begin(), forward.end(), DnaTokenizer::kT));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), DnaTokenizer::kN), 4);
  DnaTokenizer::reverse_complement(ids);
  EXPECT_EQ(ids, forward);
}

TEST(DnaTokenizer, ReverseComplementRejectsIdsOutsideTheVocab) {
  std::vector<int32_t> ids = {0, 1, 9};
  EXPECT_TRUE(mentions(error_text([&] { DnaTokenizer::reverse_complement(ids); }), "id 9 at position 2"));
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 1, 9}));  // left as it was
}

}  // namespace
}  // namespace krait::data::testing
