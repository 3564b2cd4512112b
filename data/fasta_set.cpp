// data/fasta_set.cpp — read_fasta_set (see fasta_set.h).
#include "data/fasta_set.h"

#include <filesystem>
#include <optional>
#include <set>

#include "common/error.h"
#include "data/dna_tokenizer.h"
#include "data/fasta.h"
#include "data/label_manifest.h"

namespace krait::data {

namespace {

std::string set_path(const std::vector<std::string>& files) {
  const size_t more = files.size() - 1;
  if (more == 0) return files[0];
  return files[0] + " (and " + std::to_string(more) + (more == 1 ? " more file)" : " more files)");
}

int32_t file_label(const LabelManifest& manifest, const std::string& file) {
  if (const auto label = manifest.find(file)) return *label;
  return manifest.label_of(std::filesystem::path(file).filename().string(), "FASTA file '" + file + "'");
}

int32_t record_label(const LabelManifest& manifest, const std::string& file, const FastaRecord& fasta) {
  if (const auto label = manifest.find(file + ":" + fasta.name)) return *label;
  return manifest.label_of(fasta.name, file + ":" + std::to_string(fasta.line) + ": record '" + fasta.name + "'");
}

}  // namespace

InMemorySequenceSet read_fasta_set(const std::vector<std::string>& files, const FastaSetOptions& options) {
  KRAIT_CHECK(!files.empty(), "read_fasta_set: no FASTA files given");
  std::optional<LabelManifest> manifest;
  if (!options.manifest.empty()) manifest = LabelManifest::read(options.manifest);
  const bool by_file = manifest && options.label_by == LabelKey::File;
  const bool by_record = manifest && options.label_by == LabelKey::Record;

  const DnaTokenizer tokenizer;
  std::vector<SequenceRecord> records;
  std::set<std::string> seen;
  for (const std::string& file : files) {
    KRAIT_CHECK(seen.insert(file).second, "read_fasta_set: FASTA file '", file, "' is given twice");
    const int32_t label = by_file ? file_label(*manifest, file) : kNoLabel;
    read_fasta(file, [&](FastaRecord&& fasta) {
      SequenceRecord record;
      record.name = file + ":" + fasta.name;
      record.label = by_record ? record_label(*manifest, file, fasta) : label;
      record.ids = tokenizer.encode(fasta.sequence);
      records.push_back(std::move(record));
    });
  }
  std::vector<std::string> classes = manifest ? manifest->classes() : std::vector<std::string>{};
  return InMemorySequenceSet(set_path(files), DnaTokenizer::kVocabSize, std::move(classes), std::move(records));
}

}  // namespace krait::data
