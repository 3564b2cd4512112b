// data/wav_set.h — read_wav_set: WAV files (or folders of them) as an InMemorySequenceSet of quantized
// samples, one record per file, optionally labeled by folder name or a manifest and cut to one length.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/audio_quantize.h"
#include "data/sequence_set.h"

namespace krait::data {

enum class OnRateMismatch {
  Reject,    // a file at another rate is an error
  Resample,  // it is resampled (data/resample.h) to WavSetOptions::sample_rate
};

enum class LabelSource {
  None,      // unlabeled records
  Folder,    // a file's class is the name of its parent folder
  Manifest,  // classes from the TSV `manifest` (data/label_manifest.h)
};

struct WavSetOptions {
  int sample_rate = 16000;
  OnRateMismatch on_rate_mismatch = OnRateMismatch::Reject;
  QuantizeOptions quantize;
  LabelSource labels = LabelSource::None;
  // With LabelSource::Manifest: keyed by each file's path relative to the input folder it was found
  // in (a file given directly: its path as given), then by its basename.
  std::string manifest;
  // > 0: every clip is cut to this many samples or padded at its end with the class of silence.
  int64_t clip_samples = 0;
};

// A WAV file an input stands for, and its manifest key (its path relative to the input folder it was
// found in; a file given directly: its path as given).
struct WavFile {
  std::string path;
  std::string key;
};

// inputs are WAV files and folders, searched recursively for *.wav (any case), each folder's files in
// path order; the result keeps the inputs' order. Throws for an input that does not exist or a folder
// without .wav files.
std::vector<WavFile> list_wav_files(const std::vector<std::string>& inputs);

// Called after each file is read: (files done, the file's path).
using WavProgress = std::function<void(size_t files_done, const std::string& path)>;

// The files of list_wav_files(inputs), one record each, named by file path. The set's vocab_size is
// num_classes(options.quantize). Labels are assigned before any audio is read, so a missing label
// fails first. Throws naming the file for any unreadable WAV, a rate mismatch under Reject, a missing
// label.
InMemorySequenceSet read_wav_set(const std::vector<std::string>& inputs, const WavSetOptions& options,
                                 const WavProgress& progress = {});

}  // namespace krait::data
