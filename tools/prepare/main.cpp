// tools/prepare/main.cpp — krait-prepare: DNA (FASTA), audio (WAV) or text files into HDF5 sequence
// datasets OUT/{train,valid,test}.h5 and OUT/dataset.yaml (see tools/README.md). The only place that
// prints and exits; the work is prepare_dataset (prepare.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "data/hdf5_process.h"
#include "tools/prepare/prepare.h"
#include "tools/prepare/progress.h"

namespace {

using krait::prepare::PrepareOptions;

// Options every kind shares.
struct Common {
  std::string split;
  std::string name = "test";
  bool test_only = false;
  bool quiet = false;
};

void add_common(CLI::App& app, PrepareOptions& options, Common& common, const std::string& default_split,
                const std::string& inputs_help) {
  common.split = default_split;
  app.add_option("--out", options.out_dir, "output folder (created if needed)")->required();
  app.add_option("--split", common.split, "how to split: region, record, group, or none (one part, --name)")
      ->check(CLI::IsMember({"region", "record", "group", "none"}))
      ->capture_default_str();
  app.add_option("--valid-fraction", options.split_options.valid_fraction, "share of ids for valid")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--test-fraction", options.split_options.test_fraction, "share of ids for test")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--region-size", options.split_options.region_size,
                 "split region: cut every record in regions of this many ids (0: one region per record)")
      ->capture_default_str();
  app.add_option("--group-regex", options.split_options.group_regex,
                 "split group: the group is capture 1 (or the match) of this regex on the record name; "
                 "without it, the record's parent folder");
  app.add_option("--seed", options.split_options.seed, "seed of the record and group shuffles")->capture_default_str();
  app.add_flag("--test-only", common.test_only, "write every record to OUT/test.h5 (same as --split none --name test)");
  app.add_option("--name", common.name, "with --split none: the part's name, OUT/NAME.h5")->capture_default_str();
  app.add_flag("-q,--quiet", common.quiet, "no progress bars");
  app.add_option("inputs", options.inputs, inputs_help)->required();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

void print_result(const krait::prepare::PrepareResult& result) {
  std::cout << "kind: " << krait::data::sequence_kind_name(result.info.kind) << "  tokenizer: " << result.info.tokenizer
            << "  vocab_size: " << result.vocab_size;
  if (result.info.sample_rate > 0) std::cout << "  sample_rate: " << result.info.sample_rate;
  std::cout << "  files: " << result.input_files.size() << "\n";
  if (!result.classes.empty()) std::cout << "classes: " << join(result.classes) << "\n";
  for (const auto& part : result.parts) {
    std::cout << part.name << ": " << part.path << "  " << part.records << " records  " << part.ids << " ids";
    if (!part.records_per_class.empty()) {
      std::cout << "  (";
      for (size_t c = 0; c < part.records_per_class.size(); ++c) {
        std::cout << (c ? ", " : "") << result.classes[c] << " " << part.records_per_class[c];
      }
      std::cout << ")";
    }
    std::cout << "\n";
  }
  for (const std::string& path : result.removed) std::cout << "removed the stale " << path << "\n";
  std::cout << "wrote " << result.yaml_path << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  krait::data::skip_hdf5_cleanup_at_exit();
  CLI::App app{"krait-prepare: DNA, audio or text files into HDF5 sequence datasets OUT/{train,valid,test}.h5 "
               "and OUT/dataset.yaml"};
  app.require_subcommand(1);
  PrepareOptions dna, audio, text;
  Common dna_common, audio_common, text_common;

  CLI::App* dna_app = app.add_subcommand("dna", "FASTA files (plain or .gz), DNA tokenizer (vocab 7)");
  add_common(*dna_app, dna, dna_common, "region", "FASTA files");
  dna_app->add_option("--manifest", dna.dna.manifest, "TSV of key<TAB>class lines labeling files or records");
  std::string label_by = "file";
  dna_app->add_option("--label-by", label_by, "what the manifest's keys name: file or record")
      ->check(CLI::IsMember({"file", "record"}))
      ->capture_default_str();

  CLI::App* audio_app = app.add_subcommand("audio", "WAV files or folders of them, quantized samples");
  add_common(*audio_app, audio, audio_common, "record", "WAV files or folders (searched for *.wav)");
  audio_app->add_option("--sample-rate", audio.audio.sample_rate, "the dataset's sample rate (Hz)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  bool resample = false;
  audio_app->add_flag("--resample", resample, "resample files at other rates (default: they are an error)");
  std::string quantize = "mu-law";
  audio_app->add_option("--quantize", quantize, "mu-law or linear")
      ->check(CLI::IsMember({"mu-law", "linear"}))
      ->capture_default_str();
  audio_app->add_option("--bits", audio.audio.quantize.bits, "bits per sample: 2^bits classes")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  std::string labels = "none";
  CLI::Option* labels_option = audio_app->add_option("--labels", labels, "none, folder (parent folder's name) or manifest")
                                   ->check(CLI::IsMember({"none", "folder", "manifest"}))
                                   ->capture_default_str();
  audio_app->add_option("--manifest", audio.audio.manifest, "TSV of file<TAB>class lines (implies --labels manifest)");
  audio_app->add_option("--clip-samples", audio.audio.clip_samples, "cut or pad every file to this many samples")
      ->check(CLI::NonNegativeNumber);

  CLI::App* text_app = app.add_subcommand("text", "text files, byte tokenizer (vocab 257), one record per file");
  add_common(*text_app, text, text_common, "region", "text files");

  CLI11_PARSE(app, argc, argv);

  PrepareOptions* options = &text;
  Common* common = &text_common;
  if (dna_app->parsed()) {
    options = &dna;
    common = &dna_common;
    options->kind = krait::data::SequenceKind::dna;
    options->dna.label_by = label_by == "file" ? krait::data::LabelKey::File : krait::data::LabelKey::Record;
  } else if (audio_app->parsed()) {
    options = &audio;
    common = &audio_common;
    options->kind = krait::data::SequenceKind::audio;
    options->audio.on_rate_mismatch = resample ? krait::data::OnRateMismatch::Resample : krait::data::OnRateMismatch::Reject;
    options->audio.quantize.kind = quantize == "mu-law" ? krait::data::Quantization::MuLaw : krait::data::Quantization::Linear;
    if (labels_option->count() == 0 && !options->audio.manifest.empty()) labels = "manifest";
    options->audio.labels = labels == "none"     ? krait::data::LabelSource::None
                            : labels == "folder" ? krait::data::LabelSource::Folder
                                                 : krait::data::LabelSource::Manifest;
  } else {
    options->kind = krait::data::SequenceKind::text;
  }

  try {
    if (common->test_only || common->split == "none") {
      options->split = false;
      options->name = common->test_only ? "test" : common->name;
    } else {
      options->split_options.rule = krait::data::parse_split_rule(common->split);
      options->split_options.group_by =
          options->split_options.group_regex.empty() ? krait::data::GroupBy::folder : krait::data::GroupBy::regex;
    }
    if (!common->quiet && isatty(STDERR_FILENO)) options->progress = &std::cerr;
    print_result(krait::prepare::prepare_dataset(*options));
  } catch (const std::exception& e) {
    std::cerr << "krait-prepare: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
