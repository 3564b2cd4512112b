// data/wav_set.cpp — read_wav_set (see wav_set.h): find the files, label them, then read, resample,
// quantize and cut each one.
#include "data/wav_set.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>

#include "common/error.h"
#include "data/label_manifest.h"
#include "data/resample.h"
#include "data/wav.h"

namespace krait::data {

namespace {

namespace fs = std::filesystem;

bool is_wav(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".wav";
}

std::vector<WavFile> wavs_of(const std::string& input) {
  std::error_code ec;
  const fs::file_status status = fs::status(input, ec);
  KRAIT_CHECK(fs::exists(status), "WAV input '", input, "' does not exist");
  if (!fs::is_directory(status)) return {{input, input}};
  std::vector<WavFile> found;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(input)) {
    if (entry.is_regular_file() && is_wav(entry.path())) {
      found.push_back({entry.path().string(), entry.path().lexically_relative(input).generic_string()});
    }
  }
  KRAIT_CHECK(!found.empty(), "no .wav files under '", input, "'");
  std::sort(found.begin(), found.end(), [](const WavFile& a, const WavFile& b) { return a.path < b.path; });
  return found;
}

std::optional<LabelManifest> make_labels(const std::vector<WavFile>& files, const WavSetOptions& options,
                                         const std::string& source) {
  if (options.labels == LabelSource::None) return std::nullopt;
  if (options.labels == LabelSource::Manifest) {
    KRAIT_CHECK(!options.manifest.empty(), source, ": labels from a manifest, but no manifest file is given");
    return LabelManifest::read(options.manifest);
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const WavFile& file : files) {
    pairs.emplace_back(file.path, fs::absolute(file.path).parent_path().filename().string());
  }
  return LabelManifest::from_pairs("folder labels of " + source, pairs);
}

int32_t label_of(const std::optional<LabelManifest>& labels, const WavFile& file, LabelSource source) {
  if (!labels) return kNoLabel;
  if (source == LabelSource::Folder) return labels->label_of(file.path, file.path);
  const std::string basename = fs::path(file.path).filename().string();
  std::optional<int32_t> label = labels->find(file.key);
  if (!label) label = labels->find(basename);
  KRAIT_CHECK(label.has_value(), "WAV file '", file.path, "' has no label in the manifest '", labels->source(),
              "' (looked up '", file.key, "' and '", basename, "')");
  return *label;
}

std::vector<float> samples_at_rate(const std::string& path, const WavAudio& audio, const WavSetOptions& options) {
  if (audio.sample_rate == options.sample_rate) return audio.mono;
  KRAIT_CHECK(options.on_rate_mismatch == OnRateMismatch::Resample, path, ": sample rate ", audio.sample_rate,
              " Hz, expected ", options.sample_rate, " Hz; set on_rate_mismatch to resample to convert it");
  return resample(audio.mono, audio.sample_rate, options.sample_rate);
}

uint16_t silence_id(const QuantizeOptions& options) {
  const float zero = 0.0f;
  uint16_t id = 0;
  quantize(std::span<const float>(&zero, 1), options, &id);
  return id;
}

SequenceRecord read_record(const WavFile& file, int32_t label, const WavSetOptions& options) {
  const std::vector<float> samples = samples_at_rate(file.path, read_wav(file.path), options);
  SequenceRecord record{file.path, label, std::vector<uint16_t>(samples.size())};
  quantize(samples, options.quantize, record.ids.data());
  if (options.clip_samples > 0) {
    record.ids.resize(static_cast<size_t>(options.clip_samples), silence_id(options.quantize));
  }
  return record;
}

std::string join(const std::vector<std::string>& parts) {
  std::string joined;
  for (const std::string& part : parts) joined += (joined.empty() ? "" : ", ") + part;
  return joined;
}

}  // namespace

std::vector<WavFile> list_wav_files(const std::vector<std::string>& inputs) {
  std::vector<WavFile> files;
  for (const std::string& input : inputs) {
    std::vector<WavFile> found = wavs_of(input);
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

InMemorySequenceSet read_wav_set(const std::vector<std::string>& inputs, const WavSetOptions& options,
                                 const WavProgress& progress) {
  const std::string source = join(inputs);
  KRAIT_CHECK(!inputs.empty(), "read_wav_set: no inputs");
  KRAIT_CHECK(options.sample_rate > 0, source, ": sample_rate ", options.sample_rate, ", expected > 0");
  KRAIT_CHECK(options.clip_samples >= 0, source, ": clip_samples ", options.clip_samples, ", expected >= 0");
  const uint32_t vocab = num_classes(options.quantize);

  const std::vector<WavFile> files = list_wav_files(inputs);
  const std::optional<LabelManifest> labels = make_labels(files, options, source);
  std::vector<int32_t> file_labels;
  for (const WavFile& file : files) file_labels.push_back(label_of(labels, file, options.labels));
  std::vector<SequenceRecord> records;
  records.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    records.push_back(read_record(files[i], file_labels[i], options));
    if (progress) progress(i + 1, files[i].path);
  }
  return InMemorySequenceSet(source, vocab, labels ? labels->classes() : std::vector<std::string>{},
                             std::move(records));
}

}  // namespace krait::data
