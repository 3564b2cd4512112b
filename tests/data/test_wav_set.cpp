// tests/data/test_wav_set.cpp — read_wav_set over folders of the real fixtures: recursive search and
// order, folder and manifest labels, rate mismatch (reject or resample), clip length, and its errors.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "data/wav.h"
#include "data/wav_set.h"
#include "tests/data/error_text.h"
#include "tests/data/temp_dir.h"

namespace krait::data {
namespace {

namespace fs = std::filesystem;
using testing::error_text;
using testing::mentions;

std::string fixture(const std::string& name) { return std::string(KRAIT_FIXTURES_DIR) + "/audio/" + name; }

// dir/corpus: allison/7.wav (8 kHz, recorded), espeak/{seven_pcm16,seven_pcm8}.wav and
// more/espeak/seven_float32.wav (16 kHz, synthesized), and a text file that is not audio.
class WavSet : public ::testing::Test {
 protected:
  void SetUp() override {
    add("allison_7_8k.wav", "allison/7.wav");
    add("seven_16k_pcm16.wav", "espeak/seven_pcm16.wav");
    add("seven_16k_pcm8.wav", "espeak/seven_pcm8.wav");
    add("seven_16k_float32.wav", "more/espeak/seven_float32.wav");
    testing::write_text(in_corpus("allison/notes.txt"), "not audio\n");
  }

  std::string in_corpus(const std::string& relative) const { return (fs::path(corpus()) / relative).string(); }
  std::string corpus() const { return dir_.file("corpus"); }

  void add(const std::string& fixture_name, const std::string& relative) {
    fs::create_directories(fs::path(in_corpus(relative)).parent_path());
    fs::copy_file(fixture(fixture_name), in_corpus(relative));
  }

  static std::vector<uint16_t> ids(const SequenceSet& set, size_t record) {
    std::vector<int32_t> wide(set.record_length(record));
    set.read(record, 0, wide.size(), wide.data());
    return {wide.begin(), wide.end()};
  }

  static std::vector<uint16_t> mu_law_of(const std::string& path) {
    const std::vector<float> samples = read_wav(path).mono;
    std::vector<uint16_t> out(samples.size());
    quantize(samples, QuantizeOptions{}, out.data());
    return out;
  }

  testing::TempDir dir_;
};

TEST_F(WavSet, FolderLabelsInPathOrderResampledToTheSetRate) {
  WavSetOptions options;
  options.labels = LabelSource::Folder;
  options.on_rate_mismatch = OnRateMismatch::Resample;
  const InMemorySequenceSet set = read_wav_set({corpus()}, options);
  ASSERT_EQ(set.num_records(), 4u);
  EXPECT_EQ(set.record_name(0), in_corpus("allison/7.wav"));
  EXPECT_EQ(set.record_name(1), in_corpus("espeak/seven_pcm16.wav"));
  EXPECT_EQ(set.record_name(2), in_corpus("espeak/seven_pcm8.wav"));
  EXPECT_EQ(set.record_name(3), in_corpus("more/espeak/seven_float32.wav"));
  EXPECT_EQ(set.class_names(), (std::vector<std::string>{"allison", "espeak"}));
  EXPECT_EQ(set.record_label(0), 0);
  EXPECT_EQ(set.record_label(1), 1);
  EXPECT_EQ(set.record_label(2), 1);
  EXPECT_EQ(set.record_label(3), 1);  // its parent folder, not the top one
  EXPECT_EQ(set.vocab_size(), 256u);
  EXPECT_EQ(set.path(), corpus());
  EXPECT_EQ(set.record_length(0), 13122u);  // 6561 samples at 8 kHz, doubled
  EXPECT_EQ(ids(set, 1), mu_law_of(fixture("seven_16k_pcm16.wav")));
  EXPECT_EQ(ids(set, 3), ids(set, 1));  // the float32 copy holds the same samples
}

TEST_F(WavSet, ListsFilesWithKeysAndReportsProgressInReadOrder) {
  const std::vector<WavFile> files = list_wav_files({corpus()});
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].key, "allison/7.wav");
  EXPECT_EQ(files[3].key, "more/espeak/seven_float32.wav");
  WavSetOptions options;
  options.on_rate_mismatch = OnRateMismatch::Resample;
  std::vector<std::pair<size_t, std::string>> calls;
  const InMemorySequenceSet set =
      read_wav_set({corpus()}, options, [&](size_t done, const std::string& path) { calls.emplace_back(done, path); });
  ASSERT_EQ(calls.size(), 4u);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].first, i + 1);
    EXPECT_EQ(calls[i].second, files[i].path);
    EXPECT_EQ(set.record_name(i), files[i].path);
  }
}

TEST_F(WavSet, RateMismatchIsRejectedByDefault) {
  const std::string message = error_text([&] { read_wav_set({corpus()}, WavSetOptions{}); });
  EXPECT_TRUE(mentions(message, in_corpus("allison/7.wav")));
  EXPECT_TRUE(mentions(message, "sample rate 8000 Hz, expected 16000 Hz"));
  EXPECT_TRUE(mentions(message, "on_rate_mismatch to resample"));
}

TEST_F(WavSet, AnotherSetRateResamplesTheOtherFiles) {
  WavSetOptions options;
  options.sample_rate = 8000;
  options.on_rate_mismatch = OnRateMismatch::Resample;
  const InMemorySequenceSet set = read_wav_set({corpus()}, options);
  EXPECT_EQ(set.record_length(0), 6561u);  // already at 8 kHz: untouched
  EXPECT_EQ(ids(set, 0), mu_law_of(fixture("allison_7_8k.wav")));
  EXPECT_EQ(set.record_length(1), 8000u);
  EXPECT_FALSE(set.labeled());
}

// Options for the corpus at 16 kHz, resampling the 8 kHz file.
WavSetOptions resampling() {
  WavSetOptions options;
  options.on_rate_mismatch = OnRateMismatch::Resample;
  return options;
}

WavSetOptions with_manifest(const std::string& manifest) {
  WavSetOptions options = resampling();
  options.labels = LabelSource::Manifest;
  options.manifest = manifest;
  return options;
}

TEST_F(WavSet, ManifestLabelsByRelativePathThenBasename) {
  const std::string manifest = dir_.file("labels.tsv");
  testing::write_text(manifest,
                      "# key\tclass\n"
                      "espeak/seven_pcm16.wav\tsynthetic\n"
                      "more/espeak/seven_float32.wav\tsynthetic\n"
                      "seven_pcm8.wav\tsynthetic\n"
                      "allison/7.wav\trecorded\n");
  const InMemorySequenceSet set = read_wav_set({corpus()}, with_manifest(manifest));
  EXPECT_EQ(set.class_names(), (std::vector<std::string>{"synthetic", "recorded"}));
  ASSERT_EQ(set.num_records(), 4u);
  EXPECT_EQ(set.record_label(0), 1);
  EXPECT_EQ(set.record_label(1), 0);
  EXPECT_EQ(set.record_label(2), 0);  // by its basename
  EXPECT_EQ(set.record_label(3), 0);
}

TEST_F(WavSet, FilesGivenDirectlyKeepTheirOrderAndAreKeyedByThePathAsGiven) {
  const std::string manifest = dir_.file("labels.tsv");
  testing::write_text(manifest, in_corpus("espeak/seven_pcm8.wav") + "\teight_bit\nseven_pcm16.wav\tsixteen_bit\n");
  const InMemorySequenceSet set =
      read_wav_set({in_corpus("espeak/seven_pcm8.wav"), in_corpus("espeak/seven_pcm16.wav")}, with_manifest(manifest));
  ASSERT_EQ(set.num_records(), 2u);
  EXPECT_EQ(set.record_name(0), in_corpus("espeak/seven_pcm8.wav"));
  EXPECT_EQ(set.record_label(0), 0);
  EXPECT_EQ(set.record_label(1), 1);
  EXPECT_EQ(set.path(), in_corpus("espeak/seven_pcm8.wav") + ", " + in_corpus("espeak/seven_pcm16.wav"));
}

TEST_F(WavSet, AFileMissingFromTheManifestIsNamed) {
  const std::string manifest = dir_.file("labels.tsv");
  testing::write_text(manifest, "allison/7.wav\trecorded\nespeak/seven_pcm16.wav\tsynthetic\n");
  const std::string message = error_text([&] { read_wav_set({corpus()}, with_manifest(manifest)); });
  EXPECT_TRUE(mentions(message, "WAV file '" + in_corpus("espeak/seven_pcm8.wav") + "' has no label"));
  EXPECT_TRUE(mentions(message, manifest));
  EXPECT_TRUE(mentions(message, "looked up 'espeak/seven_pcm8.wav' and 'seven_pcm8.wav'"));
}

TEST_F(WavSet, ManifestLabelsNeedAManifest) {
  EXPECT_TRUE(mentions(error_text([&] { read_wav_set({corpus()}, with_manifest("")); }), "no manifest file"));
}

TEST_F(WavSet, ClipsArePaddedWithSilenceOrTruncated) {
  const std::string file = in_corpus("espeak/seven_pcm16.wav");
  const std::vector<uint16_t> whole = mu_law_of(file);
  WavSetOptions options;
  options.clip_samples = 20000;
  const InMemorySequenceSet padded = read_wav_set({file}, options);
  std::vector<uint16_t> expected = whole;
  expected.resize(20000, 128);  // mu-law silence
  EXPECT_EQ(ids(padded, 0), expected);
  options.clip_samples = 8000;
  const InMemorySequenceSet cut = read_wav_set({file}, options);
  EXPECT_EQ(ids(cut, 0), std::vector<uint16_t>(whole.begin(), whole.begin() + 8000));
}

TEST_F(WavSet, LinearQuantizationSetsTheVocabAndTheSilenceClass) {
  WavSetOptions options;
  options.quantize = {Quantization::Linear, 16};
  options.clip_samples = 16001;
  const InMemorySequenceSet set = read_wav_set({in_corpus("espeak/seven_pcm16.wav")}, options);
  EXPECT_EQ(set.vocab_size(), 65536u);
  const std::vector<uint16_t> got = ids(set, 0);
  EXPECT_EQ(got.back(), 32768);
  const auto bytes = testing::read_bytes(fixture("seven_16k_pcm16.wav"));
  int16_t pcm;  // sample 5000, inside the word: its 16-bit value offset by 32768
  std::memcpy(&pcm, bytes.data() + 44 + 2 * 5000, 2);
  EXPECT_NE(pcm, 0);
  EXPECT_EQ(got[5000], pcm + 32768);
}

TEST_F(WavSet, AFolderWithoutWavFilesIsAnError) {
  fs::create_directories(in_corpus("empty/sub"));
  testing::write_text(in_corpus("empty/sub/readme.txt"), "nothing\n");
  EXPECT_TRUE(mentions(error_text([&] { read_wav_set({in_corpus("empty")}, WavSetOptions{}); }),
                       "no .wav files under '" + in_corpus("empty") + "'"));
}

TEST_F(WavSet, AMissingInputIsAnError) {
  EXPECT_TRUE(mentions(error_text([&] { read_wav_set({in_corpus("nope")}, WavSetOptions{}); }),
                       "WAV input '" + in_corpus("nope") + "' does not exist"));
}

TEST_F(WavSet, ABrokenFileIsNamed) {
  auto bytes = testing::read_bytes(in_corpus("espeak/seven_pcm8.wav"));
  bytes.resize(2000);
  testing::write_bytes(in_corpus("espeak/seven_pcm8.wav"), bytes);
  const std::string message = error_text([&] { read_wav_set({corpus()}, resampling()); });
  EXPECT_TRUE(mentions(message, in_corpus("espeak/seven_pcm8.wav")));
  EXPECT_TRUE(mentions(message, "truncated data chunk"));
}

TEST_F(WavSet, UppercaseExtensionsCount) {
  fs::create_directories(in_corpus("loud"));
  fs::copy_file(fixture("seven_16k_pcm16.wav"), in_corpus("loud/SEVEN.WAV"));
  EXPECT_EQ(read_wav_set({in_corpus("loud")}, WavSetOptions{}).num_records(), 1u);
}

}  // namespace
}  // namespace krait::data
