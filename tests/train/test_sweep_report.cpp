// tests/train/test_sweep_report.cpp — `krait sweep report` end to end on fake run directories: a
// sweep over two archs, five sizes and two learning rates whose summaries follow known power laws
// (one run missing, one unfinished, one without an eval loss), through run_sweep_report: the table
// rows, both CSV files, the fitted exponents, and the four images.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"
#include "train/run_summary.h"
#include "train/sweep_report.h"

namespace krait::train {
namespace {

using testing::TempDir;
using testing::write_text;

// The generating laws: L = e + a C^-b per arch; the lr 3e-3 runs are 5% worse than the lr 1e-3 ones.
struct Law {
  double e, a, b;
};
const Law kMamba{1.5, 30, 0.05}, kTransformer{0, 40, 0.055};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> cells_of(const std::string& csv_line) {
  std::vector<std::string> cells;
  std::stringstream in(csv_line);
  for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
  if (csv_line.ends_with(",")) cells.push_back("");
  return cells;
}

class SweepReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir.file("base.yaml"),
               "model:\n  d_model: 64\n  n_layer: 2\n  vocab_size: 257\ndata:\n  train: train.bin\n"
               "schedule:\n  total_steps: 100\n");
    write_text(dir.file("sweep.yaml"),
               "base: base.yaml\nout: " + dir.file("out") +
                   "\narchs:\n  - {name: mamba, set: {model.backbone: mamba}}\n"
                   "  - {name: transformer, set: {model.backbone: transformer}}\n"
                   "sizes:\n  - {d_model: 64, n_layer: 2}\n  - {d_model: 128, n_layer: 2}\n"
                   "  - {d_model: 256, n_layer: 2}\n  - {d_model: 512, n_layer: 2}\n  - {d_model: 1024, n_layer: 2}\n"
                   "lrs: [1.0e-3, 3.0e-3]\n");
    runs = expand_sweep(read_sweep(dir.file("sweep.yaml")));
    ASSERT_EQ(runs.size(), 20u);
    for (size_t i = 0; i < runs.size(); ++i) {
      const SweepRun& run = runs[i];
      if (run.name == "mamba-d256-l2-lr3e-3") continue;  // missing: never started
      std::filesystem::create_directories(run.run_dir);
      if (run.name == "transformer-d64-l2-lr3e-3") continue;  // unfinished: no summary yet
      const Law law = run.arch == "mamba" ? kMamba : kTransformer;
      const double d = std::stod(run.size.substr(1, run.size.find('-') - 1));
      RunSummary s;
      s.backbone = run.arch, s.task = "lm", s.d_model = static_cast<int64_t>(d), s.n_layer = 2;
      s.params_non_embedding = static_cast<int64_t>(12 * d * d * 2);
      s.params_total = s.params_non_embedding + static_cast<int64_t>(257 * d);
      s.seq_len = 64, s.batch_size = 8, s.steps = run.steps, s.tokens = 20 * s.params_total;
      s.train_flops = 6.0 * static_cast<double>(s.params_total) * static_cast<double>(s.tokens);
      const double loss = (law.e + law.a * std::pow(s.train_flops, -law.b)) * (run.lr > 2e-3 ? 1.05 : 1.0);
      s.final_eval_loss = run.name == "mamba-d64-l2-lr3e-3" ? NAN : loss;
      s.final_train_loss = loss * 1.01;
      s.final_eval_accuracy = NAN;
      s.flops_formula = "tokens * 6*params_total", s.wall_s = 10, s.lr = run.lr;
      write_run_summary(s, run.run_dir / kRunSummaryFile);
    }
  }

  TempDir dir;
  std::vector<SweepRun> runs;
};

TEST_F(SweepReportTest, WritesTheTableCsvFitsAndPlots) {
  std::ostringstream out;
  ASSERT_EQ(run_sweep_report(dir.file("sweep.yaml"), false, "", out), 0);
  const std::string text = out.str();
  const std::filesystem::path report = dir.file("out") + "/report";

  // The table: a row per run, with the missing, unfinished and train-loss runs marked.
  EXPECT_NE(text.find("| run | arch | size | params | non-emb params | tokens | FLOPs | loss | status |"), std::string::npos);
  EXPECT_NE(text.find("| mamba-d256-l2-lr3e-3 | mamba | d256-l2 |  |  |  |  |  | missing |"), std::string::npos) << text;
  EXPECT_NE(text.find("| transformer-d64-l2-lr3e-3 | transformer | d64-l2 |  |  |  |  |  | unfinished |"),
            std::string::npos);
  EXPECT_NE(text.find(" (train) | finished |"), std::string::npos);
  EXPECT_NE(text.find("| mamba-d1024-l2-lr1e-3 | mamba | d1024-l2 | 25.4M | 25.2M | 508.6M |"), std::string::npos) << text;

  // The fitted laws, printed: the generating coefficients, from the best lr of each size (mamba's
  // law has an offset, which a plain power law only approximates).
  EXPECT_NE(text.find("mamba: L = "), std::string::npos) << text;
  EXPECT_NE(text.find("transformer: L = 40 (+-"), std::string::npos) << text;
  EXPECT_NE(text.find("* C^-0.055 (+-"), std::string::npos) << text;
  EXPECT_NE(text.find("R^2 1.0000, 5 runs"), std::string::npos) << text;

  const auto runs_lines = lines_of(read_text(report / "runs.csv"));
  ASSERT_EQ(runs_lines.size(), 21u);
  EXPECT_EQ(runs_lines[0], "name,arch,size,status,params_total,params_non_embedding,tokens,train_flops,loss,loss_source");
  EXPECT_TRUE(runs_lines[2].starts_with("mamba-d64-l2-lr3e-3,mamba,d64-l2,finished,114752,98304,")) << runs_lines[2];
  EXPECT_TRUE(runs_lines[2].ends_with(",train")) << runs_lines[2];
  EXPECT_TRUE(runs_lines[1].ends_with(",eval")) << runs_lines[1];
  EXPECT_EQ(runs_lines[6], "mamba-d256-l2-lr3e-3,mamba,d256-l2,missing,0,0,0,0.000000e+00,,");

  const auto fits = lines_of(read_text(report / "fits.csv"));
  ASSERT_EQ(fits.size(), 3u);
  EXPECT_EQ(fits[0], "arch,a,a_se,b,b_se,e,e_se,r2,points");
  EXPECT_TRUE(fits[1].starts_with("mamba,")) << fits[1];
  const auto cells = cells_of(fits[2]);
  ASSERT_EQ(cells.size(), 9u) << fits[2];
  EXPECT_EQ(cells[0], "transformer");
  EXPECT_NEAR(std::stod(cells[1]), kTransformer.a, kTransformer.a * 1e-6);
  EXPECT_NEAR(std::stod(cells[3]), kTransformer.b, 1e-7);
  EXPECT_EQ(cells[5], "");  // e and e_se: no offset
  EXPECT_EQ(cells[6], "");
  EXPECT_NEAR(std::stod(cells[7]), 1, 1e-9);
  EXPECT_EQ(cells[8], "5");

  for (const char* name : {"loss_vs_flops", "loss_vs_params"}) {
    const std::string svg = read_text(report / (std::string(name) + ".svg"));
    const std::string png = read_text(report / (std::string(name) + ".png"));
    EXPECT_TRUE(svg.starts_with("<?xml")) << name;
    EXPECT_GE(std::count(svg.begin(), svg.end(), '\n'), 60) << name;
    EXPECT_NE(svg.find(">mamba<"), std::string::npos) << name;
    EXPECT_NE(svg.find(">transformer<"), std::string::npos) << name;
    EXPECT_TRUE(png.starts_with("\x89PNG\r\n\x1a\n")) << name;
    EXPECT_GT(png.size(), 20000u) << name;
  }
  const std::string flops = read_text(report / "loss_vs_flops.svg");
  EXPECT_NE(flops.find("stroke-dasharray"), std::string::npos);
  EXPECT_NE(flops.find(">transformer fit: C^-0.055 (+-"), std::string::npos);
}

TEST_F(SweepReportTest, FitsAnOffsetWhenAsked) {
  std::ostringstream out;
  ASSERT_EQ(run_sweep_report(dir.file("sweep.yaml"), true, dir.file("elsewhere"), out), 0);
  EXPECT_NE(out.str().find("(with an offset e)"), std::string::npos);
  EXPECT_NE(out.str().find("mamba: L = 1.5 (+-"), std::string::npos) << out.str();
  const auto fits = lines_of(read_text(dir.file("elsewhere") + "/fits.csv"));
  ASSERT_GE(fits.size(), 2u);
  const auto cells = cells_of(fits[1]);
  ASSERT_EQ(cells.size(), 9u) << fits[1];
  EXPECT_NEAR(std::stod(cells[1]), kMamba.a, kMamba.a * 1e-4);
  EXPECT_NEAR(std::stod(cells[3]), kMamba.b, 1e-5);
  EXPECT_NEAR(std::stod(cells[5]), kMamba.e, 1e-4);
  EXPECT_TRUE(std::filesystem::exists(dir.file("elsewhere") + "/loss_vs_params.png"));
}

}  // namespace
}  // namespace krait::train
