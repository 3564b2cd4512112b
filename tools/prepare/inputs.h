// tools/prepare/inputs.h — krait-prepare's inputs: listing them (sizes for the progress bar; audio
// folders expanded to their .wav files) and reading them one file at a time into one
// InMemorySequenceSet, reporting progress after each file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/fasta_set.h"
#include "data/sequence_set.h"
#include "data/wav_set.h"

namespace krait::prepare {

struct InputFile {
  std::string path;  // as given, or found under a folder given as input
  std::string key;   // audio: the manifest key (the path relative to its input folder, or as given)
  uint64_t bytes = 0;
};

// (files done, bytes done)
using ReadProgress = std::function<void(size_t files_done, uint64_t bytes_done)>;

// Each input must be an existing file (an error names it otherwise); a file given twice is an error.
std::vector<InputFile> list_files(const std::vector<std::string>& inputs);
// Files and folders; a folder stands for every *.wav (any case) under it, in path order
// (data::list_wav_files). Errors name a missing input or a folder without .wav files.
std::vector<InputFile> list_wav_files(const std::vector<std::string>& inputs);

uint64_t total_bytes(const std::vector<InputFile>& files);

// FASTA files (plain or gzip) through data::read_fasta_set, one file at a time; classes are the
// manifest's, so they agree across files.
data::InMemorySequenceSet read_dna(const std::vector<InputFile>& files, const data::FastaSetOptions& options,
                                   const ReadProgress& progress);

// The WAV files of the inputs (files and folders, as listed by list_wav_files) through
// data::read_wav_set, which labels them (folder names, or manifest keys relative to the input folder).
data::InMemorySequenceSet read_audio(const std::vector<std::string>& inputs, const std::vector<InputFile>& files,
                                     const data::WavSetOptions& options, const ReadProgress& progress);

// Byte-tokenized text (data/byte_tokenizer.h, vocab 257), one unlabeled record per file.
data::InMemorySequenceSet read_text(const std::vector<InputFile>& files, const ReadProgress& progress);

}  // namespace krait::prepare
