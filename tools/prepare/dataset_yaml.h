// tools/prepare/dataset_yaml.h — OUT/dataset.yaml, krait-prepare's description of what it wrote:
// kind, tokenizer, vocab_size, sample_rate, classes, the reading options, the split rule and its
// parameters, and per part its file, records, ids and records per class; then the input files.
// Written by hand (data/ and this tool do not depend on yaml-cpp); every string is double-quoted.
#pragma once

#include <string>

#include "tools/prepare/prepare.h"

namespace krait::prepare {

std::string dataset_yaml(const PrepareOptions& options, const PrepareResult& result);

// A double-quoted YAML scalar: backslash, quote and control characters escaped.
std::string yaml_quote(const std::string& text);

}  // namespace krait::prepare
