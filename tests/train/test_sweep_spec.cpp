// Sweep files (train/sweep_spec.h): the shipped sweeps expand to the runs they promise, and bad sweep
// files fail naming the file, line and key.
#include <gtest/gtest.h>

#include "tests/support/error_text.h"
#include "tests/support/temp_dir.h"
#include "train/recipe.h"
#include "train/sweep_spec.h"

namespace krait::train {
namespace {

using krait::testing::error_text;
using krait::testing::mentions;

const std::filesystem::path kSweeps = KRAIT_SOURCE_DIR "/configs/sweeps";

bool has_set(const SweepRun& run, const std::string& set) {
  return std::find(run.sets.begin(), run.sets.end(), set) != run.sets.end();
}

TEST(SweepSpec, TinyCpuExpandsArchsThenSizes) {
  const SweepSpec spec = read_sweep(kSweeps / "tiny-cpu.yaml");
  EXPECT_EQ(spec.base_recipe, kSweeps / "../quickstart.yaml");
  EXPECT_EQ(spec.out_dir, "runs/sweeps/tiny-cpu");
  const std::vector<SweepRun> runs = expand_sweep(spec);
  ASSERT_EQ(runs.size(), 6u);
  EXPECT_EQ(runs[0].name, "mamba-d32-l1-lr3e-3");
  EXPECT_EQ(runs[1].name, "mamba-d48-l1-lr3e-3");
  EXPECT_EQ(runs[2].name, "mamba-d64-l2-lr3e-3");
  EXPECT_EQ(runs[3].name, "transformer-d32-l1-lr3e-3");
  EXPECT_EQ(runs[5].name, "transformer-d64-l2-lr3e-3");
  EXPECT_EQ(runs[5].arch, "transformer");
  EXPECT_EQ(runs[5].size, "d64-l2");
  EXPECT_EQ(runs[5].run_dir, "runs/sweeps/tiny-cpu/transformer-d64-l2-lr3e-3");
  // Mamba gets twice the Transformer's layers; the Transformer d_model / 64 heads, at least one.
  EXPECT_TRUE(has_set(runs[2], "model.n_layer=4"));
  EXPECT_TRUE(has_set(runs[5], "model.n_layer=2"));
  EXPECT_TRUE(has_set(runs[5], "model.n_head=1"));
  EXPECT_TRUE(has_set(runs[5], "train.run_dir=runs/sweeps/tiny-cpu/transformer-d64-l2-lr3e-3"));
  EXPECT_TRUE(has_set(runs[5], "schedule.total_steps=30"));
  EXPECT_TRUE(has_set(runs[5], "schedule.warmup_steps=3"));
  const Recipe r = load_recipe(spec.base_recipe.string(), runs[5].sets);
  EXPECT_EQ(r.model.backbone, "transformer");
  EXPECT_EQ(r.total_steps(), 30);
  EXPECT_EQ(r.data.seq_len, 64);
}

TEST(SweepSpec, PaperSweepIsChinchillaSizedWithPerSizeLrs) {
  const std::vector<SweepRun> runs = expand_sweep(read_sweep(kSweeps / "paper-2048.yaml"));
  ASSERT_EQ(runs.size(), 8u);
  EXPECT_EQ(runs[0].name, "mamba-125M-lr3e-3");
  EXPECT_EQ(runs[2].name, "mamba-760M-lr1.25e-3");
  EXPECT_EQ(runs[7].name, "transformer-1.3B-lr1e-3");
  // Mamba-130M has 129,135,360 parameters: 20 x that in steps of 524,288 tokens, rounded up.
  EXPECT_EQ(runs[0].steps, (20 * 129135360LL + 524287) / 524288);
  EXPECT_TRUE(has_set(runs[0], "model.n_layer=24"));
  EXPECT_TRUE(has_set(runs[0], "schedule.total_tokens=" + std::to_string(runs[0].steps * 524288)));
  EXPECT_TRUE(has_set(runs[4], "model.n_head=12"));
  // Transformer-125M: 123,568,896 parameters.
  EXPECT_EQ(runs[4].steps, (20 * 123568896LL + 524287) / 524288);
  EXPECT_DOUBLE_EQ(runs[5].lr, 1.5e-3);
}

TEST(SweepSpec, H200SmallSweepExpands) {
  const std::vector<SweepRun> runs = expand_sweep(read_sweep(kSweeps / "h200-small.yaml"));
  EXPECT_EQ(runs.size(), 8u);
}

// Fixed data: every run of the English sweep (5 sizes x 2 archs x 2 rates) takes the same 11M tokens
// (ceil(11e6 / 64 x 512) steps).
TEST(SweepSpec, H200EnglishTrainsEverySizeOnTheSameTokens) {
  const std::vector<SweepRun> runs = expand_sweep(read_sweep(kSweeps / "h200-english.yaml"));
  ASSERT_EQ(runs.size(), 20u);
  for (const SweepRun& run : runs) EXPECT_EQ(run.steps, (11000000 + 32767) / 32768) << run.name;
  EXPECT_EQ(runs[0].name, "mamba-d512-l8-lr1.5e-3");
  EXPECT_EQ(runs[1].name, "mamba-d512-l8-lr6e-4");
}

class SweepFile : public ::testing::Test {
 protected:
  SweepFile() {
    krait::testing::write_text(dir.file("base.yaml"),
                               "model: {d_model: 16, n_layer: 2, vocab_size: 257}\n"
                               "data: {train: t.bin, seq_len: 32, batch_size: 4}\n"
                               "schedule: {total_steps: 10}\n");
  }
  std::string write(const std::string& body) const {
    krait::testing::write_text(dir.file("sweep.yaml"), "base: base.yaml\nout: runs/s\n" + body);
    return dir.file("sweep.yaml");
  }
  std::string error(const std::string& body) const {
    const std::string path = write(body);
    return error_text([&] { expand_sweep(read_sweep(path)); });
  }
  krait::testing::TempDir dir;
};

TEST_F(SweepFile, GridOfLrsAndSeqLensWithTokens) {
  const auto runs = expand_sweep(read_sweep(write(
      "archs: [{name: m}]\nsizes: [{d_model: 32, n_layer: 1}]\nlrs: [1e-3, 2.5e-4]\nseq_lens: [32, 64]\n"
      "tokens: 1000\n")));
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].name, "m-d32-l1-lr1e-3-seq32");
  EXPECT_EQ(runs[3].name, "m-d32-l1-lr2.5e-4-seq64");
  EXPECT_EQ(runs[0].steps, 8);  // 1000 tokens in steps of 4 x 32, rounded up
  EXPECT_EQ(runs[3].steps, 4);
  EXPECT_TRUE(has_set(runs[3], "optim.lr=0.00025"));
  EXPECT_TRUE(has_set(runs[3], "data.seq_len=64"));
}

TEST_F(SweepFile, ErrorsNameFileLineAndKey) {
  const std::string file = dir.file("sweep.yaml");
  std::string e = error("archs: [{name: m}]\nsizes: [125M]\nstepz: 3\n");
  EXPECT_TRUE(mentions(e, file + ":5")) << e;
  EXPECT_TRUE(mentions(e, "stepz")) << e;
  e = error("archs: [{name: m}]\nsizes:\n  - 125M\n  - 2B\n");
  EXPECT_TRUE(mentions(e, file + ":6")) << e;
  EXPECT_TRUE(mentions(e, "sizes[1]: unknown size '2B'")) << e;
  e = error("archs: [{name: m}]\nsizes: [{name: 125M, lr: 1e-3}]\nlrs: [1e-3]\n");
  EXPECT_TRUE(mentions(e, "sizes[0].lr")) << e;
  e = error("archs: [{name: m}, {name: m}]\nsizes: [125M]\n");
  EXPECT_TRUE(mentions(e, "archs[1]: listed twice")) << e;
  e = error("archs: [{name: m/x}]\nsizes: [125M]\n");
  EXPECT_TRUE(mentions(e, "archs[0].name")) << e;
  e = error("archs: [{name: m, set: {model: {backbone: mamba}}}]\nsizes: [125M]\n");
  EXPECT_TRUE(mentions(e, "archs[0].set.model")) << e;
  e = error("archs: []\nsizes: [125M]\n");
  EXPECT_TRUE(mentions(e, "archs: expected a non-empty list")) << e;
  e = error("sizes: [125M]\n");
  EXPECT_TRUE(mentions(e, "missing required key 'archs'")) << e;
  e = error("archs: [{name: m}]\nsizes: [125M]\ntokens: lots\n");
  EXPECT_TRUE(mentions(e, file + ":5: tokens")) << e;
  e = error("archs: [{name: m}]\nsizes: [125M]\nsteps: 5\ntokens: chinchilla\n");
  EXPECT_TRUE(mentions(e, "not both")) << e;
  // A run the recipe rejects fails at expansion, naming the run and the recipe's key.
  e = error("archs: [{name: m, set: {model.d_state: 0}}]\nsizes: [{d_model: 32, n_layer: 1}]\n");
  EXPECT_TRUE(mentions(e, "'m'")) << e;
  EXPECT_TRUE(mentions(e, "d_state")) << e;
}

}  // namespace
}  // namespace krait::train
