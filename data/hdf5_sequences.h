// data/hdf5_sequences.h — a SequenceSet (records of ids with names and class labels) stored as one
// HDF5 file, the output of tools/krait-prepare and an input of training. The layout is documented in
// data/README.md ("HDF5 sequence datasets"):
//   /ids      1-D uint8 (vocab_size <= 256) or uint16: every record's ids, concatenated
//   /offsets  1-D uint64, n_records + 1: record r is ids[offsets[r], offsets[r + 1])
//   /labels   1-D int32, n_records: an index into class_names, or -1 (unlabeled)
//   /names    1-D variable-length UTF-8 strings, n_records
//   root attributes: format = "krait-sequences", version = 1, vocab_size, kind (dna | audio | text),
//   class_names (string array, may be empty), tokenizer (free text, e.g. "dna-7"), sample_rate
//   (audio; 0 otherwise).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "data/sequence_set.h"

namespace krait::data {

enum class SequenceKind { dna, audio, text };

// "dna", "audio", "text"; parse_sequence_kind throws on anything else, naming `where`.
const char* sequence_kind_name(SequenceKind kind);
SequenceKind parse_sequence_kind(const std::string& text, const std::string& where);

// What a dataset holds beyond its records: the kind of data, the tokenizer that made the ids, and
// the sample rate of audio (0 for other kinds).
struct SequenceDatasetInfo {
  SequenceKind kind = SequenceKind::text;
  std::string tokenizer;  // e.g. "dna-7", "mu-law-256", "bytes-257"
  uint32_t sample_rate = 0;

  bool operator==(const SequenceDatasetInfo&) const = default;
};

inline constexpr const char* kSequenceFormat = "krait-sequences";
inline constexpr int32_t kSequenceFormatVersion = 1;

// Called as ids are written: (ids written so far, total ids).
using WriteProgress = std::function<void(uint64_t done, uint64_t total)>;

// Writes path + ".tmp" and renames it over path. Throws (naming path) on an empty set (no records),
// a vocab_size above 65536, an empty tokenizer, or a nonzero sample_rate for a kind other than audio.
// The ids are read from `set` and written in bounded chunks.
void write_sequence_hdf5(const std::string& path, const SequenceSet& set, const SequenceDatasetInfo& info,
                         const WriteProgress& progress = {});

// Opens and validates a dataset. The whole file is loaded into memory (an InMemorySequenceSet):
// the datasets krait-prepare writes are at most a few hundred MB, and training reads random windows
// from them many times over. Every error names the file and what is wrong: not HDF5, a missing
// dataset or attribute, a wrong format or version, offsets that do not start at 0, decrease or do not
// end at len(/ids), /labels or /names of the wrong length, a label outside class_names (or any label
// but -1 when there are no classes), an id >= vocab_size, no records. When info is given it receives
// the file's SequenceDatasetInfo.
std::unique_ptr<SequenceSet> open_sequence_hdf5(const std::string& path, SequenceDatasetInfo* info = nullptr);

// The info attributes alone (kind, tokenizer, sample_rate), checked as open_sequence_hdf5 checks
// them, without reading the records.
SequenceDatasetInfo read_sequence_info(const std::string& path);

}  // namespace krait::data
