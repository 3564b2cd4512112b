// `krait sweep run` end to end on the CPU: the shipped tiny-cpu sweep, its runner killed (SIGKILL)
// after the first run finished and started again, ends with every run's summary and does not train
// the finished run twice, and `krait sweep report` makes its table, fits and plots; a failing run is
// reported and makes the exit status non-zero.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "tests/trainer/run_fixture.h"
#include "tests/trainer/spawn.h"
#include "train/run_summary.h"
#include "train/sweep_spec.h"

namespace krait::train {
namespace {

using testing::spawn_krait;
using testing::wait_exit_code;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs the test from the fixture's folder (sweep out/ and data paths are relative to it), with the
// tiny-cpu sweep's data (runs/data/kjv) linked to the fixture's shards.
class SweepTest : public ::testing::Test {
 protected:
  SweepTest() : fx_("sweep"), previous_(std::filesystem::current_path()) {
    std::filesystem::create_directories(fx_.dir() / "runs/data/kjv");
    for (const char* file : {"train.bin", "valid.bin"})
      std::filesystem::create_symlink(fx_.dir() / "data" / file, fx_.dir() / "runs/data/kjv" / file);
    std::filesystem::current_path(fx_.dir());
  }
  ~SweepTest() override { std::filesystem::current_path(previous_); }

  testing::RunFixture fx_;
  std::filesystem::path previous_;
};

TEST_F(SweepTest, KilledRunnerRestartsSkippingFinishedRuns) {
  const std::string sweep = KRAIT_SOURCE_DIR "/configs/sweeps/tiny-cpu.yaml";
  const std::vector<SweepRun> runs = expand_sweep(read_sweep(sweep));
  ASSERT_EQ(runs.size(), 6u);
  const auto summary = [&](size_t i) { return fx_.dir() / runs[i].run_dir / kRunSummaryFile; };

  const pid_t first = spawn_krait({"sweep", "run", sweep}, (fx_.dir() / "runner1.log").string());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(summary(0)) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  kill(first, SIGKILL);
  ASSERT_EQ(wait_exit_code(first), -SIGKILL) << "the sweep finished before it could be killed";
  ASSERT_TRUE(std::filesystem::exists(summary(0)));
  ASSERT_FALSE(std::filesystem::exists(summary(5))) << "killed too late to test a restart";
  const std::string finished_first = read_text(summary(0));

  const std::string log2 = (fx_.dir() / "runner2.log").string();
  ASSERT_EQ(wait_exit_code(spawn_krait({"sweep", "run", sweep}, log2)), 0) << read_text(log2);
  const std::string out = read_text(log2);
  EXPECT_NE(out.find("1 already finished"), std::string::npos) << out;
  EXPECT_EQ(out.find("started " + runs[0].name), std::string::npos) << out;
  EXPECT_NE(out.find("sweep done: 6 finished, 0 failed"), std::string::npos) << out;
  EXPECT_EQ(read_text(summary(0)), finished_first);
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunSummary s = read_run_summary(summary(i));
    EXPECT_EQ(s.status, "finished") << runs[i].name;
    EXPECT_EQ(s.steps, 30) << runs[i].name;
    EXPECT_EQ(s.backbone, runs[i].arch) << runs[i].name;
  }
  EXPECT_TRUE(std::filesystem::exists(fx_.dir() / "runs/sweeps/tiny-cpu/sweep.yaml"));

  const std::string status = (fx_.dir() / "status.log").string();
  ASSERT_EQ(wait_exit_code(spawn_krait({"sweep", "status", sweep}, status)), 0);
  const std::string table = read_text(status);
  for (const SweepRun& run : runs) EXPECT_NE(table.find("| " + run.name + " |"), std::string::npos) << table;
  size_t finished = 0;
  for (size_t at = 0; (at = table.find("finished:", at)) != std::string::npos; ++at) ++finished;
  EXPECT_EQ(finished, 6u) << table;

  const std::string report_log = (fx_.dir() / "report.log").string();
  ASSERT_EQ(wait_exit_code(spawn_krait({"sweep", "report", sweep}, report_log)), 0) << read_text(report_log);
  const std::string report = read_text(report_log);
  for (const SweepRun& run : runs) EXPECT_NE(report.find("| " + run.name + " |"), std::string::npos) << report;
  for (const char* arch : {"mamba: L = ", "transformer: L = "}) EXPECT_NE(report.find(arch), std::string::npos) << report;
  const std::filesystem::path out_dir = fx_.dir() / "runs/sweeps/tiny-cpu/report";
  const std::string csv = read_text(out_dir / "runs.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 7) << "a header and six runs:\n" << csv;
  for (const char* plot : {"loss_vs_flops.svg", "loss_vs_flops.png", "loss_vs_params.svg", "loss_vs_params.png"})
    EXPECT_GT(std::filesystem::file_size(out_dir / plot), 4000u) << plot;
}

TEST_F(SweepTest, FailingRunIsReportedAndTheOthersGoOn) {
  std::ofstream(fx_.dir() / "fails.yaml")
      << "base: " << KRAIT_SOURCE_DIR << "/configs/quickstart.yaml\nout: runs/fails\n"
      << "set: {data.seq_len: 32, data.batch_size: 4, eval.max_batches: 2}\n"
      << "archs:\n  - {name: ok}\n  - {name: broken, set: {data.train: missing.bin}}\n"
      << "sizes: [{d_model: 16, n_layer: 1}]\nsteps: 5\nwarmup_fraction: 0\n";
  const std::string log = (fx_.dir() / "runner.log").string();
  EXPECT_EQ(wait_exit_code(spawn_krait({"sweep", "run", "fails.yaml"}, log)), 1);
  const std::string out = read_text(log);
  EXPECT_NE(out.find("FAILED broken-d16-l1-lr3e-3: exited with status 1"), std::string::npos) << out;
  EXPECT_NE(out.find("missing.bin"), std::string::npos) << out;  // the end of its train.log
  EXPECT_NE(out.find("sweep done: 1 finished, 1 failed"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(fx_.dir() / "runs/fails/broken-d16-l1-lr3e-3/sweep.failed"));
}

}  // namespace
}  // namespace krait::train
