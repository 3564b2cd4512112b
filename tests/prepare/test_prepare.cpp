// tests/prepare/test_prepare.cpp — runs the built krait-prepare on small real inputs in a temp
// folder (FASTA written here and the committed genomes under tests/data/fixtures/dna, WAVs written
// with data/wav.h, text files), opens what it wrote with open_sequence_hdf5 and checks counts,
// labels, that no part overlaps another, dataset.yaml, and the one-line errors of bad inputs.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "data/dna_tokenizer.h"
#include "data/hdf5_sequences.h"
#include "tests/data/temp_dir.h"
#if __has_include("data/wav.h")
#include "data/wav.h"
#define KRAIT_TEST_HAVE_WAV 1
#endif

namespace krait::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_text;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct ToolRun {
  int status = -1;
  std::string out, err;
};

// Runs krait-prepare with args (each shell-quoted) from the folder `cwd`.
ToolRun prepare(const TempDir& dir, const std::vector<std::string>& args) {
  std::string command = "cd '" + dir.file("") + "' && '" KRAIT_PREPARE_BINARY "'";
  for (const std::string& arg : args) command += " '" + arg + "'";
  command += " > '" + dir.file("stdout.txt") + "' 2> '" + dir.file("stderr.txt") + "'";
  const int raw = std::system(command.c_str());
  ToolRun run;
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  run.out = read_text(dir.file("stdout.txt"));
  run.err = read_text(dir.file("stderr.txt"));
  return run;
}

std::vector<int32_t> ids_of(const SequenceSet& set, size_t r) {
  std::vector<int32_t> ids(set.record_length(r));
  set.read(r, 0, ids.size(), ids.data());
  return ids;
}

// A random DNA sequence of n bases from a fixed LCG.
std::string random_bases(size_t n, uint32_t seed) {
  std::string bases(n, 'A');
  uint32_t x = seed;
  for (char& b : bases) {
    x = x * 1664525u + 1013904223u;
    b = "ACGT"[(x >> 16) & 3];
  }
  return bases;
}

void write_fasta(const std::string& path, const std::vector<std::pair<std::string, std::string>>& records) {
  std::ostringstream text;
  for (const auto& [name, bases] : records) {
    text << ">" << name << " test record\n";
    for (size_t i = 0; i < bases.size(); i += 60) text << bases.substr(i, 60) << "\n";
  }
  write_text(path, text.str());
}

// Parses a region part's record name "NAME:BEGIN-END" (or a whole record's "NAME").
struct Piece {
  std::string name;
  uint64_t begin = 0, end = 0;
};
Piece parse_piece(const std::string& name, uint64_t length) {
  const size_t colon = name.rfind(':');
  const size_t dash = name.rfind('-');
  if (colon == std::string::npos || dash == std::string::npos || dash < colon) return {name, 0, length};
  return {name.substr(0, colon), std::stoull(name.substr(colon + 1, dash - colon - 1)), std::stoull(name.substr(dash + 1))};
}

TEST(Prepare, DnaRegionSplitCoversEveryBaseOnce) {
  TempDir dir;
  const std::string a = random_bases(1000, 1), b = random_bases(2000, 2);
  write_fasta(dir.file("g.fa"), {{"chrA", a}, {"chrB", b}});
  const ToolRun run = prepare(dir, {"dna", "--out", "out", "--valid-fraction", "0.1", "--test-fraction", "0.2", "g.fa"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_TRUE(run.err.empty()) << run.err;  // no progress bar: stderr is not a terminal
  EXPECT_NE(run.out.find("wrote out/dataset.yaml"), std::string::npos) << run.out;

  // Every base of each record is in exactly one part, with its own ids.
  std::map<std::string, std::vector<int>> owner = {{"g.fa:chrA", std::vector<int>(1000, -1)},
                                                   {"g.fa:chrB", std::vector<int>(2000, -1)}};
  const std::map<std::string, std::vector<uint16_t>> truth = {{"g.fa:chrA", DnaTokenizer().encode(a)},
                                                              {"g.fa:chrB", DnaTokenizer().encode(b)}};
  const std::map<std::string, uint64_t> expected_ids = {{"train", 2100}, {"valid", 300}, {"test", 600}};
  int part_index = 0;
  for (const char* part : {"train", "valid", "test"}) {
    SequenceDatasetInfo info;
    const auto set = open_sequence_hdf5(dir.file(std::string("out/") + part + ".h5"), &info);
    EXPECT_EQ(info.kind, SequenceKind::dna);
    EXPECT_EQ(info.tokenizer, "dna-7");
    EXPECT_EQ(set->vocab_size(), 7u);
    EXPECT_EQ(set->num_records(), 2u);
    EXPECT_EQ(set->total_length(), expected_ids.at(part));
    for (size_t r = 0; r < set->num_records(); ++r) {
      const Piece piece = parse_piece(set->record_name(r), set->record_length(r));
      ASSERT_TRUE(owner.contains(piece.name)) << set->record_name(r);
      ASSERT_EQ(piece.end - piece.begin, set->record_length(r));
      const auto ids = ids_of(*set, r);
      for (uint64_t i = piece.begin; i < piece.end; ++i) {
        ASSERT_EQ(owner[piece.name][i], -1) << piece.name << " base " << i << " is in two parts";
        owner[piece.name][i] = part_index;
        ASSERT_EQ(ids[i - piece.begin], truth.at(piece.name)[i]);
      }
    }
    ++part_index;
  }
  for (const auto& [name, parts] : owner) {
    EXPECT_EQ(std::count(parts.begin(), parts.end(), -1), 0) << name;
  }
  const std::string yaml = read_text(dir.file("out/dataset.yaml"));
  EXPECT_NE(yaml.find("kind: dna"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("rule: region"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  test:\n    file: \"test.h5\"\n    records: 2\n    ids: 600\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  - \"g.fa\""), std::string::npos) << yaml;
}

TEST(Prepare, DnaFixturesWithManifestAndRecordSplit) {
  const std::string fixtures = KRAIT_SOURCE_DIR "/tests/data/fixtures/dna";
  if (!fs::exists(fixtures + "/three_bacteria_60col.fa") || !fs::exists(fixtures + "/lambda_virus.fa.gz")) {
    GTEST_SKIP() << "no DNA fixtures under " << fixtures;
  }
  TempDir dir;
  write_text(dir.file("labels.tsv"),
             "# file\tclass\nthree_bacteria_60col.fa\tbacteria\nlambda_virus.fa.gz\tphage\n");
  const ToolRun run = prepare(dir, {"dna", "--out", "out", "--manifest", "labels.tsv", "--split", "record",
                                "--valid-fraction", "0", "--test-fraction", "0.25", "--seed", "3",
                                fixtures + "/three_bacteria_60col.fa", fixtures + "/lambda_virus.fa.gz"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_FALSE(fs::exists(dir.file("out/valid.h5")));  // fraction 0: not written
  const auto train = open_sequence_hdf5(dir.file("out/train.h5"));
  const auto test = open_sequence_hdf5(dir.file("out/test.h5"));
  EXPECT_EQ(train->class_names(), (std::vector<std::string>{"bacteria", "phage"}));
  EXPECT_EQ(test->class_names(), train->class_names());
  EXPECT_EQ(train->num_records() + test->num_records(), 4u);
  EXPECT_EQ(train->total_length() + test->total_length(), 15000u + 12000u + 15000u + 48502u);
  std::set<std::string> names;
  for (const SequenceSet* set : {train.get(), test.get()}) {
    for (size_t r = 0; r < set->num_records(); ++r) {
      EXPECT_TRUE(names.insert(set->record_name(r)).second) << set->record_name(r) << " is in both parts";
      const bool phage = set->record_name(r).find("lambda_virus") != std::string::npos;
      EXPECT_EQ(set->record_label(r), phage ? 1 : 0) << set->record_name(r);
    }
  }
  const std::string yaml = read_text(dir.file("out/dataset.yaml"));
  EXPECT_NE(yaml.find("classes: [\"bacteria\", \"phage\"]"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("rule: record"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("seed: 3"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("records_per_class:"), std::string::npos) << yaml;
}

#ifdef KRAIT_TEST_HAVE_WAV
TEST(Prepare, AudioGroupSplitKeepsEachSpeakerInOnePart) {
  TempDir dir;
  const std::vector<std::string> speakers = {"alice", "bob", "carol", "dave", "erin"};
  for (size_t s = 0; s < speakers.size(); ++s) {
    fs::create_directories(dir.file("wavs/" + speakers[s]));
    for (int clip = 0; clip < 3; ++clip) {
      std::vector<float> tone(800 + 100 * clip);
      for (size_t i = 0; i < tone.size(); ++i) tone[i] = 0.5f * std::sin(0.01f * (s + 1) * i);
      write_wav_pcm16(dir.file("wavs/" + speakers[s] + "/clip" + std::to_string(clip) + ".wav"), tone, 16000);
    }
  }
  const ToolRun run = prepare(dir, {"audio", "--out", "out", "--labels", "folder", "--split", "group", "--valid-fraction",
                                "0.2", "--test-fraction", "0.2", "--clip-samples", "1000", "wavs"});
  ASSERT_EQ(run.status, 0) << run.err;
  std::map<std::string, std::string> part_of_class;
  size_t records = 0;
  for (const char* part : {"train", "valid", "test"}) {
    SequenceDatasetInfo info;
    const auto set = open_sequence_hdf5(dir.file(std::string("out/") + part + ".h5"), &info);
    EXPECT_EQ(info.kind, SequenceKind::audio);
    EXPECT_EQ(info.sample_rate, 16000u);
    EXPECT_EQ(info.tokenizer, "mu-law-256");
    EXPECT_EQ(set->vocab_size(), 256u);
    EXPECT_EQ(set->class_names(), speakers);
    records += set->num_records();
    for (size_t r = 0; r < set->num_records(); ++r) {
      EXPECT_EQ(set->record_length(r), 1000u);
      const std::string& speaker = speakers.at(static_cast<size_t>(set->record_label(r)));
      EXPECT_NE(set->record_name(r).find("/" + speaker + "/"), std::string::npos) << set->record_name(r);
      const auto [it, inserted] = part_of_class.emplace(speaker, part);
      EXPECT_EQ(it->second, part) << speaker << " is in two parts";
    }
  }
  EXPECT_EQ(records, 15u);
  EXPECT_EQ(part_of_class.size(), 5u);
  const std::string yaml = read_text(dir.file("out/dataset.yaml"));
  EXPECT_NE(yaml.find("sample_rate: 16000"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("group_by: folder"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("groups: ["), std::string::npos) << yaml;
}

TEST(Prepare, AudioRateMismatchIsAnErrorNamingTheFile) {
  TempDir dir;
  write_wav_pcm16(dir.file("slow.wav"), std::vector<float>(800, 0.1f), 8000);
  const ToolRun run = prepare(dir, {"audio", "--out", "out", "--test-only", "slow.wav"});
  EXPECT_NE(run.status, 0);
  EXPECT_EQ(run.err.rfind("krait-prepare: error: ", 0), 0u) << run.err;
  EXPECT_NE(run.err.find("slow.wav"), std::string::npos) << run.err;
  const ToolRun resampled = prepare(dir, {"audio", "--out", "out", "--test-only", "--resample", "slow.wav"});
  ASSERT_EQ(resampled.status, 0) << resampled.err;
  EXPECT_EQ(open_sequence_hdf5(dir.file("out/test.h5"))->record_length(0), 1600u);
}
#endif

TEST(Prepare, TextOneRecordPerFile) {
  TempDir dir;
  write_text(dir.file("a.txt"), std::string(1000, 'a'));
  write_text(dir.file("b.txt"), std::string(500, 'b'));
  const ToolRun run = prepare(dir, {"text", "--out", "out", "--valid-fraction", "0.1", "--test-fraction", "0.1",
                                "a.txt", "b.txt"});
  ASSERT_EQ(run.status, 0) << run.err;
  SequenceDatasetInfo info;
  const auto train = open_sequence_hdf5(dir.file("out/train.h5"), &info);
  EXPECT_EQ(info, (SequenceDatasetInfo{SequenceKind::text, "bytes-257", 0}));
  EXPECT_EQ(train->vocab_size(), 257u);
  ASSERT_EQ(train->num_records(), 2u);
  EXPECT_EQ(train->record_name(0), "a.txt:0-800");
  EXPECT_EQ(ids_of(*train, 0), std::vector<int32_t>(800, 'a'));
  EXPECT_EQ(open_sequence_hdf5(dir.file("out/test.h5"))->total_length(), 150u);
}

TEST(Prepare, TestOnlyAndNamedParts) {
  TempDir dir;
  write_fasta(dir.file("ood.fa"), {{"x", random_bases(300, 5)}, {"y", random_bases(200, 6)}});
  ToolRun run = prepare(dir, {"dna", "--out", "ood", "--test-only", "ood.fa"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_FALSE(fs::exists(dir.file("ood/train.h5")));
  const auto test = open_sequence_hdf5(dir.file("ood/test.h5"));
  EXPECT_EQ(test->num_records(), 2u);
  EXPECT_EQ(test->record_name(1), "ood.fa:y");
  EXPECT_NE(read_text(dir.file("ood/dataset.yaml")).find("rule: none"), std::string::npos);

  run = prepare(dir, {"dna", "--out", "named", "--split", "none", "--name", "holdout", "ood.fa"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(open_sequence_hdf5(dir.file("named/holdout.h5"))->total_length(), 500u);

  // Test fraction 1: everything is test, and no train or valid file is written.
  run = prepare(dir, {"dna", "--out", "all-test", "--split", "record", "--valid-fraction", "0", "--test-fraction", "1",
                      "ood.fa"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_FALSE(fs::exists(dir.file("all-test/train.h5")));
  EXPECT_FALSE(fs::exists(dir.file("all-test/valid.h5")));
  EXPECT_EQ(open_sequence_hdf5(dir.file("all-test/test.h5"))->num_records(), 2u);
}

TEST(Prepare, RemovesAStalePartOfAnEarlierRun) {
  TempDir dir;
  write_fasta(dir.file("g.fa"), {{"x", random_bases(1000, 7)}});
  ASSERT_EQ(prepare(dir, {"dna", "--out", "out", "g.fa"}).status, 0);
  ASSERT_TRUE(fs::exists(dir.file("out/valid.h5")));
  const ToolRun run = prepare(dir, {"dna", "--out", "out", "--valid-fraction", "0", "g.fa"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_FALSE(fs::exists(dir.file("out/valid.h5")));
  EXPECT_NE(run.out.find("removed the stale"), std::string::npos) << run.out;
}

// A failing run exits nonzero and prints exactly one line, "krait-prepare: error: ...", naming `part`.
void expect_one_error_line(const ToolRun& run, const std::string& part) {
  EXPECT_NE(run.status, 0);
  EXPECT_EQ(run.err.rfind("krait-prepare: error: ", 0), 0u) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_NE(run.err.find(part), std::string::npos) << run.err;
}

TEST(Prepare, BadInputsAreOneLineErrorsNamingTheFile) {
  TempDir dir;
  expect_one_error_line(prepare(dir, {"dna", "--out", "out", "missing.fa"}), "missing.fa: no such file");
  write_text(dir.file("bad.fa"), ">x\nACGT\nAC!T\n");
  expect_one_error_line(prepare(dir, {"dna", "--out", "out", "bad.fa"}), "bad.fa:3");
  write_fasta(dir.file("tiny.fa"), {{"x", "ACG"}});
  expect_one_error_line(prepare(dir, {"dna", "--out", "out", "tiny.fa"}), "part empty");
  write_fasta(dir.file("g.fa"), {{"x", random_bases(100, 1)}});
  write_text(dir.file("labels.tsv"), "other.fa\tclass\n");
  expect_one_error_line(prepare(dir, {"dna", "--out", "out", "--manifest", "labels.tsv", "g.fa"}), "g.fa");
  expect_one_error_line(prepare(dir, {"dna", "--out", "out", "g.fa", "g.fa"}), "g.fa: given twice");
  expect_one_error_line(prepare(dir, {"text", "--out", "out", "--split", "group", "--group-regex", "(", "g.fa"}),
                        "group regex");
  EXPECT_FALSE(fs::exists(dir.file("out/train.h5")));
  // A usage error (CLI11's own message) also fails.
  EXPECT_NE(prepare(dir, {"dna", "g.fa"}).status, 0);
}

}  // namespace
}  // namespace krait::data
