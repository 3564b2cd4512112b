// Run summaries (train/run_summary.h) round-trip through their JSON file, and the reader rejects bad
// files naming the file, line and key; count_parameters (train/flops.h) matches the built models.
#include <gtest/gtest.h>

#include <cmath>

#include "layers/model_spec.h"
#include "tests/support/error_text.h"
#include "tests/support/temp_dir.h"
#include "train/flops.h"
#include "train/run_summary.h"

namespace krait::train {
namespace {

using krait::testing::error_text;
using krait::testing::mentions;

RunSummary example() {
  RunSummary s;
  s.backbone = "mamba";
  s.task = "lm";
  s.d_model = 768;
  s.n_layer = 24;
  s.params_total = 129135360;
  s.params_non_embedding = 90520320;
  s.seq_len = 2048;
  s.batch_size = 256;
  s.steps = 4769;
  s.tokens = 2500329472;
  s.final_train_loss = 2.91;
  s.final_eval_loss = 2.875;
  s.final_eval_accuracy = std::nan("");
  s.train_flops = 1.9372e18;
  s.flops_formula = "tokens * 6*params_total";
  s.wall_s = 5321.5;
  s.lr = 3e-3;
  return s;
}

TEST(RunSummary, RoundTrips) {
  krait::testing::TempDir dir;
  const RunSummary s = example();
  write_run_summary(s, dir.file("summary.json"));
  const RunSummary r = read_run_summary(dir.file("summary.json"));
  EXPECT_EQ(to_json(r), to_json(s));
  EXPECT_EQ(r.tokens, 2500329472);
  EXPECT_EQ(r.status, "finished");
  EXPECT_DOUBLE_EQ(r.final_eval_loss, 2.875);
  EXPECT_TRUE(std::isnan(r.final_eval_accuracy));
  EXPECT_TRUE(mentions(to_json(s), "\"final_eval_accuracy\": null"));
  EXPECT_FALSE(std::filesystem::exists(dir.file("summary.json.tmp")));
}

// The summary's text with line `from` replaced by `to`.
std::string edited(const std::string& from, const std::string& to) {
  std::string text = to_json(example());
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(RunSummary, BadFilesNameFileLineAndKey) {
  krait::testing::TempDir dir;
  const std::string path = dir.file("summary.json");
  const auto error_for = [&](const std::string& text) {
    krait::testing::write_text(path, text);
    return error_text([&] { read_run_summary(path); });
  };
  // Line 8 holds params_total (line 1 is the brace).
  std::string e = error_for(edited("\"params_total\": 129135360", "\"params_total\": \"many\""));
  EXPECT_TRUE(mentions(e, path + ":8")) << e;
  EXPECT_TRUE(mentions(e, "params_total: expected an integer")) << e;
  e = error_for(edited("  \"seq_len\": 2048,\n", ""));
  EXPECT_TRUE(mentions(e, "missing required key 'seq_len'")) << e;
  e = error_for(edited("\"lr\": 0.003", "\"lr\": 0.003,\n  \"lrr\": 1"));
  EXPECT_TRUE(mentions(e, "lrr")) << e;
  e = error_for(edited("\"version\": 1", "\"version\": 2"));
  EXPECT_TRUE(mentions(e, path + ":2")) << e;
  EXPECT_TRUE(mentions(e, "version")) << e;
  e = error_for("{\"version\": 1,");
  EXPECT_TRUE(mentions(e, path)) << e;
  e = error_for(edited("\"final_train_loss\": 2.91", "\"final_train_loss\": [2.91]"));
  EXPECT_TRUE(mentions(e, "final_train_loss: expected a number")) << e;
  EXPECT_TRUE(mentions(error_text([&] { read_run_summary(dir.file("absent.json")); }), "absent.json"));
}

TEST(Flops, ParameterCountMatchesTheBuiltModels) {
  const auto mamba = [](int64_t d_model, int64_t n_layer, int64_t vocab) {
    ModelSpec spec;
    spec.mamba.d_model = d_model;
    spec.mamba.n_layer = n_layer;
    spec.mamba.vocab_size = vocab;
    return spec;
  };
  const auto transformer = [](int64_t d_model, int64_t n_layer, int64_t n_head, int64_t vocab) {
    ModelSpec spec;
    spec.backbone = "transformer";
    spec.transformer.d_model = d_model;
    spec.transformer.n_layer = n_layer;
    spec.transformer.n_head = n_head;
    spec.transformer.vocab_size = vocab;
    return spec;
  };
  std::vector<ModelSpec> specs = {mamba(32, 2, 50), mamba(48, 1, 257), mamba(32, 2, 50), mamba(32, 1, 50),
                                  transformer(64, 2, 2, 257), transformer(32, 1, 1, 30), mamba(32, 1, 50)};
  specs[1].mamba.bias = true;
  specs[1].mamba.tie_embeddings = false;
  specs[2].mamba.selective = Selectivity(false);
  specs[3].mamba.selective = Selectivity(true, false, true);
  specs[3].mamba.conv = false;
  specs[3].mamba.gate = false;
  specs[5].transformer.d_ff = 40;
  specs[5].transformer.tie_embeddings = false;
  specs[6].task = Task::Classify;
  specs[6].num_classes = 5;
  for (int64_t hidden : {int64_t(0), int64_t(20)}) {  // MoE-Mamba, experts 3 x d_model wide and 20 wide
    ModelSpec moe = mamba(32, 2, 50);
    moe.backbone = "moe-mamba";
    moe.mamba.moe.experts = 3;
    moe.mamba.moe.hidden = hidden;
    specs.push_back(moe);
  }
  for (const ModelSpec& spec : specs) {
    const ParameterCount count = count_parameters(spec);
    EXPECT_EQ(count.total, build_model(spec, 0, {})->num_parameters()) << spec.backbone << " " << spec.d_model();
    EXPECT_EQ(count.embedding, embedding_parameters(spec));
  }
  EXPECT_EQ(embedding_parameters(specs[0]), 56 * 32);  // vocab 50 padded to 56
}

TEST(Flops, SixNPlusAttention) {
  ModelSpec mamba;
  EXPECT_DOUBLE_EQ(flops_per_token(mamba, 1000, 2048), 6000.0);
  ModelSpec transformer;
  transformer.backbone = "transformer";
  transformer.transformer.d_model = 64;
  transformer.transformer.n_layer = 2;
  EXPECT_DOUBLE_EQ(flops_per_token(transformer, 1000, 128), 6000.0 + 12.0 * 2 * 64 * 128);
  // MoE-Mamba counts the experts a token visits: 2 layers of 5 experts, top-2, experts 32 x 96 x 2.
  ModelSpec moe;
  moe.backbone = "moe-mamba";
  moe.mamba.d_model = 32;
  moe.mamba.n_layer = 2;
  moe.mamba.moe.experts = 5;
  moe.mamba.moe.top_k = 2;
  EXPECT_DOUBLE_EQ(flops_per_token(moe, 100000, 128), 6.0 * (100000 - 2 * 3 * 2 * 32 * 96));
}

}  // namespace
}  // namespace krait::train
