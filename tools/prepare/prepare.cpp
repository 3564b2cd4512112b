// tools/prepare/prepare.cpp — prepare_dataset (see prepare.h).
#include "tools/prepare/prepare.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/error.h"
#include "data/audio_quantize.h"
#include "data/dna_tokenizer.h"
#include "tools/prepare/dataset_yaml.h"
#include "tools/prepare/inputs.h"
#include "tools/prepare/progress.h"

namespace krait::prepare {

namespace {

namespace fs = std::filesystem;

void check_part_name(const std::string& name) {
  const bool ok = !name.empty() && name != "dataset" && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  KRAIT_CHECK(ok, "part name '", name, "': use letters, digits, '_' and '-' only (and not 'dataset')");
}

data::InMemorySequenceSet read_inputs(const PrepareOptions& options, const std::vector<InputFile>& files) {
  ProgressBar bar(options.progress, "reading", files.size(), total_bytes(files), "B");
  const ReadProgress progress = [&](size_t done, uint64_t bytes) { bar.update(done, bytes); };
  switch (options.kind) {
    case data::SequenceKind::dna:
      return read_dna(files, options.dna, progress);
    case data::SequenceKind::audio:
      return read_audio(options.inputs, files, options.audio, progress);
    case data::SequenceKind::text:
      return read_text(files, progress);
  }
  KRAIT_FAIL("unknown kind");
}

void write_text_file(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    KRAIT_CHECK(out, temp, ": cannot create");
    out << text;
    out.close();
    KRAIT_CHECK(out, temp, ": write failed");
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    fs::remove(temp);
    KRAIT_FAIL("cannot rename ", temp, " to ", path, ": ", ec.message());
  }
}

}  // namespace

std::string tokenizer_name(const PrepareOptions& options) {
  switch (options.kind) {
    case data::SequenceKind::dna:
      return "dna-" + std::to_string(data::DnaTokenizer::kVocabSize);
    case data::SequenceKind::audio:
      return std::string(options.audio.quantize.kind == data::Quantization::MuLaw ? "mu-law-" : "linear-") +
             std::to_string(data::num_classes(options.audio.quantize));
    case data::SequenceKind::text:
      return "bytes-257";
  }
  return "?";
}

PrepareResult prepare_dataset(const PrepareOptions& options) {
  KRAIT_CHECK(!options.out_dir.empty(), "no output folder given");
  if (!options.split) check_part_name(options.name);

  const std::vector<InputFile> files =
      options.kind == data::SequenceKind::audio ? list_wav_files(options.inputs) : list_files(options.inputs);
  const data::InMemorySequenceSet set = read_inputs(options, files);

  PrepareResult result;
  result.info = {options.kind, tokenizer_name(options),
                 options.kind == data::SequenceKind::audio ? static_cast<uint32_t>(options.audio.sample_rate) : 0u};
  result.vocab_size = set.vocab_size();
  result.classes = set.class_names();
  for (const InputFile& file : files) result.input_files.push_back(file.path);

  // What goes where: the split's parts, or every record whole into one part.
  std::vector<std::pair<std::string, std::vector<data::RecordSlice>>> parts;
  std::vector<std::vector<std::string>> groups;
  if (options.split) {
    const data::DatasetSplit split = data::split_dataset(set, options.split_options);
    for (data::SplitPart part : data::kSplitParts) {
      if (split.part(part).empty()) continue;  // a fraction of 0
      parts.emplace_back(data::split_part_name(part), split.part(part));
      groups.push_back(split.groups_of(part));
    }
  } else {
    KRAIT_CHECK(set.num_records() > 0, set.path(), ": no records");
    std::vector<data::RecordSlice> all;
    for (size_t r = 0; r < set.num_records(); ++r) all.push_back({r, 0, set.record_length(r)});
    parts.emplace_back(options.name, std::move(all));
    groups.emplace_back();
  }

  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  KRAIT_CHECK(!ec && fs::is_directory(options.out_dir), options.out_dir, ": cannot create the output folder",
              ec ? ": " + ec.message() : std::string());

  for (size_t p = 0; p < parts.size(); ++p) {
    auto& [name, slices] = parts[p];
    WrittenPart written;
    written.name = name;
    written.path = (fs::path(options.out_dir) / (name + ".h5")).string();
    written.groups = groups[p];
    const data::SlicedSequenceSet part(set, std::move(slices), written.path);
    written.records = part.num_records();
    written.ids = part.total_length();
    written.records_per_class.assign(result.classes.size(), 0);
    for (size_t r = 0; r < part.num_records(); ++r) {
      if (part.record_label(r) != data::kNoLabel) ++written.records_per_class[static_cast<size_t>(part.record_label(r))];
    }
    ProgressBar bar(options.progress, "writing " + name + ".h5", 1, written.ids, "ids");
    data::write_sequence_hdf5(written.path, part, result.info, [&](uint64_t done, uint64_t total) {
      bar.update(done == total ? 1 : 0, done);
    });
    bar.finish();
    result.parts.push_back(std::move(written));
  }

  // A split part this run did not write (its fraction is now 0) must not linger from an earlier run.
  if (options.split) {
    for (data::SplitPart part : data::kSplitParts) {
      const std::string name = data::split_part_name(part);
      const bool written = std::any_of(result.parts.begin(), result.parts.end(),
                                       [&](const WrittenPart& w) { return w.name == name; });
      const fs::path stale = fs::path(options.out_dir) / (name + ".h5");
      if (!written && fs::exists(stale)) {
        fs::remove(stale);
        result.removed.push_back(stale.string());
      }
    }
  }

  result.yaml_path = (fs::path(options.out_dir) / "dataset.yaml").string();
  write_text_file(result.yaml_path, dataset_yaml(options, result));
  return result;
}

}  // namespace krait::prepare
