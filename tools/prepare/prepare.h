// tools/prepare/prepare.h — prepare_dataset, the work behind krait-prepare: read DNA, audio or text
// inputs into one SequenceSet, split it (data/dataset_split.h) or keep it whole, and write
// OUT/{train,valid,test}.h5 (data/hdf5_sequences.h) plus OUT/dataset.yaml. Throws krait::Error;
// prints only the progress bars, and only on the stream it is given.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "data/dataset_split.h"
#include "data/fasta_set.h"
#include "data/hdf5_sequences.h"
#include "data/wav_set.h"

namespace krait::prepare {

struct PrepareOptions {
  data::SequenceKind kind = data::SequenceKind::text;
  std::string out_dir;
  std::vector<std::string> inputs;
  data::FastaSetOptions dna;    // kind dna
  data::WavSetOptions audio;    // kind audio
  bool split = true;            // false: every record, whole, into one part named `name`
  data::SplitOptions split_options;
  std::string name = "test";    // the part's name when split is false: OUT/NAME.h5
  std::ostream* progress = nullptr;  // where progress bars go; nullptr: none
};

struct WrittenPart {
  std::string name;  // train, valid, test, or PrepareOptions::name
  std::string path;  // OUT/NAME.h5
  uint64_t records = 0;
  uint64_t ids = 0;
  std::vector<uint64_t> records_per_class;  // indexed by class; empty when unlabeled
  std::vector<std::string> groups;          // split by group: the groups in this part
};

struct PrepareResult {
  data::SequenceDatasetInfo info;
  uint32_t vocab_size = 0;
  std::vector<std::string> classes;
  std::vector<std::string> input_files;  // audio folders expanded to their files
  std::vector<WrittenPart> parts;
  std::vector<std::string> removed;      // stale OUT/{train,valid,test}.h5 of an earlier run
  std::string yaml_path;                 // OUT/dataset.yaml
};

// The tokenizer names written into the files: "dna-7", "mu-law-256" / "linear-65536", "bytes-257".
std::string tokenizer_name(const PrepareOptions& options);

PrepareResult prepare_dataset(const PrepareOptions& options);

}  // namespace krait::prepare
