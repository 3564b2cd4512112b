// tools/prepare/dataset_yaml.cpp — dataset_yaml (see dataset_yaml.h).
#include "tools/prepare/dataset_yaml.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

namespace krait::prepare {

namespace {

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + yaml_quote(items[i]);
  return out + "]";
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", value);
  return text;
}

const char* on_off(bool value) { return value ? "true" : "false"; }

}  // namespace

std::string yaml_quote(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\x%02x", u);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string dataset_yaml(const PrepareOptions& options, const PrepareResult& result) {
  std::ostringstream y;
  y << "# Written by krait-prepare: the parts below are HDF5 sequence datasets (data/README.md).\n";
  y << "format: " << yaml_quote(data::kSequenceFormat) << "\n";
  y << "version: " << data::kSequenceFormatVersion << "\n";
  y << "kind: " << data::sequence_kind_name(result.info.kind) << "\n";
  y << "tokenizer: " << yaml_quote(result.info.tokenizer) << "\n";
  y << "vocab_size: " << result.vocab_size << "\n";
  y << "sample_rate: " << result.info.sample_rate << "\n";
  y << "classes: " << quoted_list(result.classes) << "\n";

  y << "read:\n";
  switch (options.kind) {
    case data::SequenceKind::dna:
      y << "  manifest: " << yaml_quote(options.dna.manifest) << "\n";
      y << "  label_by: " << (options.dna.label_by == data::LabelKey::File ? "file" : "record") << "\n";
      break;
    case data::SequenceKind::audio: {
      const data::WavSetOptions& a = options.audio;
      const char* labels = a.labels == data::LabelSource::None     ? "none"
                           : a.labels == data::LabelSource::Folder ? "folder"
                                                                   : "manifest";
      y << "  resample: " << on_off(a.on_rate_mismatch == data::OnRateMismatch::Resample) << "\n";
      y << "  quantize: " << (a.quantize.kind == data::Quantization::MuLaw ? "mu-law" : "linear") << "\n";
      y << "  bits: " << a.quantize.bits << "\n";
      y << "  labels: " << labels << "\n";
      y << "  manifest: " << yaml_quote(a.manifest) << "\n";
      y << "  clip_samples: " << a.clip_samples << "\n";
      break;
    }
    case data::SequenceKind::text:
      y << "  records: one per file\n";
      break;
  }

  y << "split:\n";
  if (!options.split) {
    y << "  rule: none\n";
    y << "  name: " << yaml_quote(options.name) << "\n";
  } else {
    const data::SplitOptions& s = options.split_options;
    y << "  rule: " << data::split_rule_name(s.rule) << "\n";
    y << "  valid_fraction: " << number(s.valid_fraction) << "\n";
    y << "  test_fraction: " << number(s.test_fraction) << "\n";
    if (s.rule == data::SplitRule::region) y << "  region_size: " << s.region_size << "\n";
    if (s.rule == data::SplitRule::group) {
      y << "  group_by: " << (s.group_by == data::GroupBy::folder ? "folder" : "regex") << "\n";
      if (s.group_by == data::GroupBy::regex) y << "  group_regex: " << yaml_quote(s.group_regex) << "\n";
    }
    if (s.rule != data::SplitRule::region) y << "  seed: " << s.seed << "\n";
  }

  y << "parts:\n";
  for (const WrittenPart& part : result.parts) {
    y << "  " << part.name << ":\n";
    y << "    file: " << yaml_quote(std::filesystem::path(part.path).filename().string()) << "\n";
    y << "    records: " << part.records << "\n";
    y << "    ids: " << part.ids << "\n";
    if (!result.classes.empty()) {
      y << "    records_per_class:\n";
      for (size_t c = 0; c < result.classes.size(); ++c) {
        y << "      " << yaml_quote(result.classes[c]) << ": " << part.records_per_class[c] << "\n";
      }
    }
    if (options.split && options.split_options.rule == data::SplitRule::group) {
      y << "    groups: " << quoted_list(part.groups) << "\n";
    }
  }

  y << "inputs:\n";
  for (const std::string& file : result.input_files) y << "  - " << yaml_quote(file) << "\n";
  return y.str();
}

}  // namespace krait::prepare
