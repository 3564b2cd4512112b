// train/pretrained.cpp — init_from_checkpoint and freeze_parameters (see pretrained.h).
#include "train/pretrained.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "common/error.h"
#include "train/checkpoint_file.h"
#include "train/run_dir.h"

namespace krait::train {
namespace {

std::string shape_text(const Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::string resolve_checkpoint(const std::string& path) {
  KRAIT_CHECK(std::filesystem::exists(path), "train.init_from: '", path, "' does not exist");
  if (!std::filesystem::is_directory(path)) return path;
  const auto latest = latest_checkpoint(path);
  KRAIT_CHECK(latest.has_value(), "train.init_from: the run folder '", path, "' holds no checkpoint");
  return *latest;
}

}  // namespace

InitReport init_from_checkpoint(const ParameterList& params, const std::string& path) {
  InitReport report;
  report.checkpoint = resolve_checkpoint(path);
  const CheckpointReader ckpt(report.checkpoint);
  std::vector<std::string> stored = ckpt.list("model");
  // Every shape is checked before any value is copied, so an error leaves the model as it was.
  std::vector<std::pair<const Parameter*, Tensor>> values;
  for (const Parameter& p : params) {
    const std::string key = "model/" + p.name;
    if (!ckpt.has(key)) {
      report.fresh.push_back(p.name);
      continue;
    }
    Tensor value = ckpt.tensor(key);
    KRAIT_CHECK(value.shape() == p.value.shape(), "train.init_from: '", report.checkpoint, "' holds ", p.name,
                " with shape ", shape_text(value.shape()), " but the model's is ", shape_text(p.value.shape()),
                " (a different model shape?)");
    values.emplace_back(&p, std::move(value));
    report.loaded.push_back(p.name);
  }
  for (const std::string& name : stored) {
    const bool used = std::any_of(params.begin(), params.end(), [&](const Parameter& p) { return p.name == name; });
    if (!used) report.ignored.push_back(name);
  }
  KRAIT_CHECK(!report.loaded.empty(), "train.init_from: '", report.checkpoint,
              "' shares no parameter name with the model");
  for (const auto& [param, value] : values) param->value.copy_from(value);
  return report;
}

bool name_matches(const std::string& pattern, const std::string& name) {
  // Iterative wildcard match: remember the last '*' and retry from one character further on a miss.
  size_t p = 0, n = 0, star = std::string::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

ParameterList freeze_parameters(const ParameterList& params, const std::vector<std::string>& patterns,
                                std::vector<std::string>& frozen) {
  std::vector<bool> used(patterns.size(), false);
  ParameterList trainable;
  for (const Parameter& p : params) {
    bool match = false;
    for (size_t i = 0; i < patterns.size(); ++i) {
      if (name_matches(patterns[i], p.name)) used[i] = match = true;
    }
    if (match) {
      Tensor value = p.value;  // shares the parameter's autograd state
      value.set_requires_grad(false);
      frozen.push_back(p.name);
    } else {
      trainable.push_back(p);
    }
  }
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (used[i]) continue;
    std::string examples;
    for (size_t k = 0; k < std::min<size_t>(params.size(), 4); ++k) examples += (k ? ", " : "") + params[k].name;
    KRAIT_FAIL("train.freeze: pattern '", patterns[i], "' matches no parameter (names look like ", examples, ", ...)");
  }
  return trainable;
}

}  // namespace krait::train
