// data/fasta_set.h — read_fasta_set: FASTA files (plain or gzip) into an InMemorySequenceSet of
// DnaTokenizer ids (vocab 7), optionally labeled from a LabelManifest.
#pragma once

#include <string>
#include <vector>

#include "data/sequence_set.h"

namespace krait::data {

enum class LabelKey {
  File,    // every record of a file takes the file's class: key = the path as given, else its basename
  Record,  // each record has its own class: key = "file:record" (file as given), else the record's name
};

struct FastaSetOptions {
  std::string manifest;  // a LabelManifest TSV; empty = an unlabeled set
  LabelKey label_by = LabelKey::File;
};

// Every record of every file, in order. A record is named "file:record" (the file as given, the
// FASTA record's name), so names stay unique across files; a file given twice is an error. Errors
// from the FASTA reader name the file and line; a key missing from the manifest names the file or
// record and the manifest. The set's path() is the first file's, plus how many more there are.
InMemorySequenceSet read_fasta_set(const std::vector<std::string>& files, const FastaSetOptions& options = {});

}  // namespace krait::data
