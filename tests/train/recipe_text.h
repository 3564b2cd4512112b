// tests/train/recipe_text.h — helpers for recipe tests: recipe text built from numbered lines, the
// error a recipe raises, and field-by-field equality of whole recipes.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "common/error.h"
#include "train/recipe.h"

namespace krait::train::testing {

using Lines = std::vector<std::string>;

// The smallest valid recipe; line n of the text is kMinimal[n - 1].
inline const Lines kMinimal = {
    "model:",              // 1
    "  d_model: 64",       // 2
    "  n_layer: 2",        // 3
    "  vocab_size: 257",   // 4
    "data:",               // 5
    "  train: train.bin",  // 6
    "schedule:",           // 7
    "  total_steps: 100",  // 8
};

inline std::string text_of(const Lines& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// lines with line number `line` (1-based) replaced by `replacement`.
inline Lines with_line(Lines lines, size_t line, const std::string& replacement) {
  lines.at(line - 1) = replacement;
  return lines;
}

// lines with `text` inserted to become line number `line`.
inline Lines inserted(Lines lines, size_t line, const std::string& text) {
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(line - 1), text);
  return lines;
}

// lines followed by more lines (which become lines.size() + 1, ...).
inline Lines plus(Lines lines, const Lines& more) {
  lines.insert(lines.end(), more.begin(), more.end());
  return lines;
}

constexpr const char* kName = "configs/x.yaml";

// The message of the krait::Error that parsing lines (as configs/x.yaml) with overrides throws,
// or "" (and a test failure) if it throws none.
inline std::string error_of(const Lines& lines, const std::vector<std::string>& overrides = {}) {
  try {
    parse_recipe(text_of(lines), kName, overrides);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a krait::Error";
  return "";
}

inline ::testing::AssertionResult mentions(const std::string& message, const std::string& part) {
  if (message.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << message << "\" does not mention \"" << part << "\"";
}

// MambaConfig has no operator==; every field is compared.
inline void expect_same_model(const MambaConfig& a, const MambaConfig& b) {
  EXPECT_EQ(a.d_model, b.d_model);
  EXPECT_EQ(a.n_layer, b.n_layer);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.d_state, b.d_state);
  EXPECT_EQ(a.d_conv, b.d_conv);
  EXPECT_EQ(a.expand, b.expand);
  EXPECT_EQ(a.dt_rank, b.dt_rank);
  EXPECT_EQ(a.dt_min, b.dt_min);
  EXPECT_EQ(a.dt_max, b.dt_max);
  EXPECT_EQ(a.dt_init_floor, b.dt_init_floor);
  EXPECT_EQ(a.dt_scale, b.dt_scale);
  EXPECT_EQ(a.conv_bias, b.conv_bias);
  EXPECT_EQ(a.bias, b.bias);
  EXPECT_EQ(a.pad_vocab_size_multiple, b.pad_vocab_size_multiple);
  EXPECT_EQ(a.tie_embeddings, b.tie_embeddings);
  EXPECT_EQ(a.norm_eps, b.norm_eps);
  EXPECT_EQ(a.residual_in_fp32, b.residual_in_fp32);
  EXPECT_EQ(a.selective.names(), b.selective.names());
  EXPECT_EQ(a.conv, b.conv);
  EXPECT_EQ(a.gate, b.gate);
  EXPECT_EQ(a.a_init, b.a_init);
}

inline void expect_same_recipe(const Recipe& a, const Recipe& b) {
  expect_same_model(a.model.mamba, b.model.mamba);
  EXPECT_EQ(a.model.transformer, b.model.transformer);
  EXPECT_EQ(a.model.backbone, b.model.backbone);
  EXPECT_EQ(a.model.task, b.model.task);
  EXPECT_EQ(a.model.num_classes, b.model.num_classes);
  EXPECT_EQ(a.model.pool, b.model.pool);
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.optim, b.optim);
  EXPECT_EQ(a.schedule, b.schedule);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.eval, b.eval);
}

}  // namespace krait::train::testing
