// data/fasta.h — FastaRecord and the streaming FASTA reader, for plain and gzip-compressed files.
//
// A file is one or more records, each a '>' header line followed by sequence lines of any width.
// The header's first whitespace-separated word (after the '>' and any spaces) is the record's name,
// the rest its description. Lines may end in LF or CRLF; blank lines and lines starting with ';'
// (old-style comments) are skipped anywhere. Sequence lines hold IUPAC nucleotide codes
// (ACGTUN RYKMSWBDHV, either case); '-' (an alignment gap) is dropped, as are spaces and tabs.
// Anything else ('*', digits, '.', control bytes) is an error. Gzip input is recognized by its
// magic bytes (1f 8b), whatever the file is called, and may have several members (bgzip, cat).
//
// Errors (krait::Error) name the file and the 1-based line (of the decompressed text) and, for a bad
// character, its 1-based column: a missing or unreadable file, a truncated or corrupt gzip stream,
// sequence before the first header, a header with an empty name, a record with no bases, a record
// name used twice in the file, and a file with no records at all.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace krait::data {

struct FastaRecord {
  std::string name;         // the header's first word
  std::string description;  // the rest of the header, trimmed; may be empty
  std::string sequence;     // the bases, case kept as in the file, gaps and whitespace removed
  int64_t line = 0;         // 1-based line of the header, for messages
};

// Calls on_record once per record, in file order; holds one record in memory at a time.
void read_fasta(const std::string& path, const std::function<void(FastaRecord&&)>& on_record);

// Every record of the file.
std::vector<FastaRecord> read_fasta_all(const std::string& path);

}  // namespace krait::data
