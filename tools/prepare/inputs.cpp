// tools/prepare/inputs.cpp — listing and reading krait-prepare's inputs (see inputs.h).
#include "tools/prepare/inputs.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "common/error.h"
#include "data/byte_tokenizer.h"
#include "data/dna_tokenizer.h"

namespace krait::prepare {

namespace {

namespace fs = std::filesystem;

uint64_t size_of(const std::string& path) {
  std::error_code ec;
  const uint64_t bytes = fs::file_size(path, ec);
  return ec ? 0 : bytes;
}

void check_unique(const std::vector<InputFile>& files) {
  std::set<std::string> seen;
  for (const InputFile& file : files) {
    KRAIT_CHECK(seen.insert(fs::weakly_canonical(file.path).string()).second, file.path,
                ": given twice (each input file may appear once)");
  }
}

// "a.fa", "a.fa (+2 more)": the set's path in messages.
std::string describe(const std::vector<InputFile>& files) {
  if (files.empty()) return "<no inputs>";
  return files.size() == 1 ? files[0].path : files[0].path + " (+" + std::to_string(files.size() - 1) + " more)";
}

// Appends every record of `set` to `records`.
void take_records(const data::InMemorySequenceSet& set, std::vector<data::SequenceRecord>& records) {
  for (size_t r = 0; r < set.num_records(); ++r) records.push_back(set.record(r));
}

}  // namespace

std::vector<InputFile> list_files(const std::vector<std::string>& inputs) {
  KRAIT_CHECK(!inputs.empty(), "no input files");
  std::vector<InputFile> files;
  for (const std::string& input : inputs) {
    std::error_code ec;
    const fs::file_status status = fs::status(input, ec);
    KRAIT_CHECK(fs::exists(status), input, ": no such file");
    KRAIT_CHECK(!fs::is_directory(status), input, ": is a folder, expected a file");
    files.push_back({input, input, size_of(input)});
  }
  check_unique(files);
  return files;
}

std::vector<InputFile> list_wav_files(const std::vector<std::string>& inputs) {
  KRAIT_CHECK(!inputs.empty(), "no input files");
  std::vector<InputFile> files;
  for (const data::WavFile& file : data::list_wav_files(inputs)) files.push_back({file.path, file.key, size_of(file.path)});
  check_unique(files);
  return files;
}

uint64_t total_bytes(const std::vector<InputFile>& files) {
  uint64_t bytes = 0;
  for (const InputFile& file : files) bytes += file.bytes;
  return bytes;
}

data::InMemorySequenceSet read_dna(const std::vector<InputFile>& files, const data::FastaSetOptions& options,
                                   const ReadProgress& progress) {
  std::vector<data::SequenceRecord> records;
  std::vector<std::string> classes;
  uint64_t bytes = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const data::InMemorySequenceSet set = data::read_fasta_set({files[i].path}, options);
    if (i == 0) classes = set.class_names();
    KRAIT_CHECK(set.class_names() == classes, files[i].path, ": its classes differ from the other files'");
    take_records(set, records);
    bytes += files[i].bytes;
    if (progress) progress(i + 1, bytes);
  }
  return data::InMemorySequenceSet(describe(files), data::DnaTokenizer::kVocabSize, std::move(classes),
                                   std::move(records));
}

data::InMemorySequenceSet read_audio(const std::vector<std::string>& inputs, const std::vector<InputFile>& files,
                                     const data::WavSetOptions& options, const ReadProgress& progress) {
  uint64_t bytes = 0;
  size_t next = 0;  // read_wav_set reads the files in list_wav_files' order, which `files` keeps
  data::InMemorySequenceSet set = data::read_wav_set(inputs, options, [&](size_t done, const std::string&) {
    for (; next < done; ++next) bytes += files[next].bytes;
    if (progress) progress(done, bytes);
  });
  KRAIT_CHECK(set.num_records() == files.size(), describe(files), ": read ", set.num_records(), " records from ",
              files.size(), " files");
  return set;
}

data::InMemorySequenceSet read_text(const std::vector<InputFile>& files, const ReadProgress& progress) {
  const data::ByteTokenizer tokenizer;
  std::vector<data::SequenceRecord> records;
  uint64_t bytes = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    std::ifstream in(files[i].path, std::ios::binary);
    KRAIT_CHECK(in, files[i].path, ": cannot open");
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    KRAIT_CHECK(!in.bad(), files[i].path, ": read error");
    const std::vector<int32_t> ids = tokenizer.encode(text);
    records.push_back({files[i].path, data::kNoLabel, std::vector<uint16_t>(ids.begin(), ids.end())});
    bytes += files[i].bytes;
    if (progress) progress(i + 1, bytes);
  }
  return data::InMemorySequenceSet(describe(files), data::ByteTokenizer::kVocabSize, {}, std::move(records));
}

}  // namespace krait::prepare
