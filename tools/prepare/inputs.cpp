// tools/prepare/inputs.cpp — listing and reading krait-prepare's inputs (see inputs.h).
#include "tools/prepare/inputs.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>

#include "common/error.h"
#include "data/byte_tokenizer.h"
#include "data/dna_tokenizer.h"
#include "data/label_manifest.h"

namespace krait::prepare {

namespace {

namespace fs = std::filesystem;

uint64_t size_of(const std::string& path) {
  std::error_code ec;
  const uint64_t bytes = fs::file_size(path, ec);
  return ec ? 0 : bytes;
}

bool is_wav(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".wav";
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
  for (const std::string& input : inputs) {
    std::error_code ec;
    const fs::file_status status = fs::status(input, ec);
    KRAIT_CHECK(fs::exists(status), input, ": no such file or folder");
    if (!fs::is_directory(status)) {
      files.push_back({input, input, size_of(input)});
      continue;
    }
    std::vector<InputFile> found;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(input)) {
      if (entry.is_regular_file() && is_wav(entry.path())) {
        found.push_back({entry.path().string(), entry.path().lexically_relative(input).generic_string(),
                         size_of(entry.path().string())});
      }
    }
    KRAIT_CHECK(!found.empty(), input, ": no .wav files under this folder");
    std::sort(found.begin(), found.end(), [](const InputFile& a, const InputFile& b) { return a.path < b.path; });
    files.insert(files.end(), found.begin(), found.end());
  }
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

data::InMemorySequenceSet read_audio(const std::vector<InputFile>& files, const data::WavSetOptions& options,
                                     const ReadProgress& progress) {
  // Labels first, as read_wav_set assigns them, so a missing label fails before any audio is read.
  std::optional<data::LabelManifest> labels;
  if (options.labels == data::LabelSource::Manifest) {
    KRAIT_CHECK(!options.manifest.empty(), "labels from a manifest, but no manifest file is given");
    labels = data::LabelManifest::read(options.manifest);
  } else if (options.labels == data::LabelSource::Folder) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const InputFile& file : files) {
      pairs.emplace_back(file.path, fs::absolute(file.path).parent_path().filename().string());
    }
    labels = data::LabelManifest::from_pairs("folder labels of " + describe(files), pairs);
  }
  std::vector<int32_t> file_labels(files.size(), data::kNoLabel);
  for (size_t i = 0; i < files.size() && labels; ++i) {
    const InputFile& file = files[i];
    if (options.labels == data::LabelSource::Folder) {
      file_labels[i] = labels->label_of(file.path, file.path);
      continue;
    }
    const std::string basename = fs::path(file.path).filename().string();
    std::optional<int32_t> label = labels->find(file.key);
    if (!label) label = labels->find(basename);
    KRAIT_CHECK(label.has_value(), file.path, ": no label in the manifest '", labels->source(), "' (looked up '",
                file.key, "' and '", basename, "')");
    file_labels[i] = *label;
  }

  data::WavSetOptions one_file = options;
  one_file.labels = data::LabelSource::None;
  std::vector<data::SequenceRecord> records;
  uint64_t bytes = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const data::InMemorySequenceSet set = data::read_wav_set({files[i].path}, one_file);
    KRAIT_CHECK(set.num_records() == 1, files[i].path, ": expected one record, read ", set.num_records());
    records.push_back(set.record(0));
    records.back().label = file_labels[i];
    bytes += files[i].bytes;
    if (progress) progress(i + 1, bytes);
  }
  return data::InMemorySequenceSet(describe(files), data::num_classes(options.quantize),
                                   labels ? labels->classes() : std::vector<std::string>{}, std::move(records));
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
