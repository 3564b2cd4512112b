// `krait launch`: every rank's output comes back whole and prefixed with its rank; a failing or killed
// rank is named and fails the launch and stops the others; a signal to the launcher reaches the ranks;
// bad arguments are errors.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "dist/rendezvous.h"
#include "tests/support/temp_dir.h"
#include "tests/trainer/run_fixture.h"
#include "tests/trainer/spawn.h"

namespace krait::train {
namespace {

using Clock = std::chrono::steady_clock;

using testing::spawn_krait;
using testing::wait_exit_code;

using testing::read_text;

// Runs `krait args...` to the end: its exit code and its stdout and stderr together.
std::pair<int, std::string> run_krait(const testing::RunFixture& fx, const std::vector<std::string>& args) {
  const std::string output = (fx.dir() / "output.txt").string();
  const int code = wait_exit_code(spawn_krait(args, output));
  return {code, read_text(output)};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The launcher's children (the ranks), once `count` of them are running.
std::vector<pid_t> children_of(pid_t pid, size_t count) {
  const std::string list = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children";
  for (const auto end = Clock::now() + std::chrono::seconds(5); Clock::now() < end;) {
    std::istringstream in(read_text(list));
    std::vector<pid_t> pids;
    for (pid_t child; in >> child;) pids.push_back(child);
    if (pids.size() >= count) return pids;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

// A rank's environment, read once it has exec'd its command (`krait <subcommand> ...`, no longer the
// launcher's `krait launch ...`).
std::string environment_of(pid_t pid, const std::string& subcommand) {
  const std::string proc = "/proc/" + std::to_string(pid);
  for (const auto end = Clock::now() + std::chrono::seconds(5); Clock::now() < end;) {
    const std::string cmdline = read_text(proc + "/cmdline");
    if (cmdline.substr(cmdline.find('\0') + 1, subcommand.size()) == subcommand) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string env = read_text(proc + "/environ");
  std::replace(env.begin(), env.end(), '\0', '\n');
  return "\n" + env;
}

// `bench data` over the fixture's shards drawing `batches` batches: a quick command that needs no GPU.
std::vector<std::string> bench_data(const testing::RunFixture& fx, int64_t batches) {
  return {"bench", "data", "-c", fx.recipe("launch", 10), "--batches", std::to_string(batches)};
}

TEST(Launch, FailingRanksAreNamedAndTheirErrorsPrefixed) {
  testing::RunFixture fx("launch-fail");
  const auto [code, output] = run_krait(fx, {"launch", "--nproc", "2", "--", "info", "--checkpoint", "/no/such.h5"});
  EXPECT_NE(code, 0);
  EXPECT_TRUE(contains(output, "[rank 0] krait: error: ")) << output;
  EXPECT_TRUE(contains(output, "[rank 1] krait: error: ")) << output;
  EXPECT_TRUE(contains(output, "/no/such.h5")) << output;
  EXPECT_TRUE(contains(output, "rank 0 exited with status 1") || contains(output, "rank 1 exited with status 1"))
      << output;
}

TEST(Launch, TrainingOnSeveralRanksNeedsGpus) {
  testing::RunFixture fx("launch-train");
  const auto [code, output] = run_krait(fx, {"launch", "--nproc", "2", "--", "train", "-c", fx.recipe("dp", 10)});
  EXPECT_NE(code, 0);
  EXPECT_TRUE(contains(output, "[rank 1] krait: error: rank 1 of 2 (torchrun): data-parallel training runs on GPUs"))
      << output;
}

TEST(Launch, ThreeRanksSucceedWithWholePrefixedLines) {
  testing::RunFixture fx("launch-ok");
  const std::vector<std::string> args = bench_data(fx, 20);
  std::vector<std::string> launch{"launch", "--nproc", "3", "--"};
  launch.insert(launch.end(), args.begin(), args.end());
  const auto [code, output] = run_krait(fx, launch);
  EXPECT_EQ(code, 0) << output;
  std::istringstream lines(output);
  int per_rank[3] = {0, 0, 0};
  for (std::string line; std::getline(lines, line);) {
    ASSERT_EQ(line.rfind("[rank ", 0), 0u) << "a line without its rank: " << line;
    const int rank = line[6] - '0';
    ASSERT_TRUE(rank >= 0 && rank < 3 && line.substr(7, 2) == "] ") << line;
    EXPECT_TRUE(contains(line, "20 batches of 2 x 32")) << line;
    ++per_rank[rank];
  }
  for (const int n : per_rank) EXPECT_EQ(n, 1) << output;
}

TEST(Launch, BadArgumentsAreErrors) {
  testing::RunFixture fx("launch-args");
  const auto [code, output] = run_krait(fx, {"launch", "--nproc", "0", "--", "info", "--checkpoint", "x.h5"});
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(contains(output, "--nproc must be at least 1, got 0")) << output;
  EXPECT_NE(run_krait(fx, {"launch", "--nproc", "2", "--"}).first, 0) << "no command";
  EXPECT_NE(run_krait(fx, {"launch", "--nproc", "2", "--master-port", "70000", "--", "info"}).first, 0);
}

// A launcher of 2 ranks running a command that never ends by itself, once both ranks are up; its
// output goes to `output`. Empty ranks (the launcher killed) when they did not start.
struct LongLaunch {
  pid_t launcher;
  std::vector<pid_t> ranks;
};

LongLaunch start_long_launch(const testing::RunFixture& fx, std::vector<std::string> launch, const std::string& output) {
  const std::vector<std::string> args = bench_data(fx, int64_t{1} << 40);
  launch.insert(launch.end(), args.begin(), args.end());
  const pid_t launcher = spawn_krait(launch, output);
  std::vector<pid_t> ranks = children_of(launcher, 2);
  if (ranks.size() != 2) {
    kill(launcher, SIGKILL);  // its ranks follow (PR_SET_PDEATHSIG)
    wait_exit_code(launcher);
    ranks.clear();
  }
  return {launcher, ranks};
}

TEST(Launch, AKilledRankStopsTheOthers) {
  testing::RunFixture fx("launch-kill");
  const std::string output = (fx.dir() / "output.txt").string();
  const auto [launcher, ranks] = start_long_launch(fx, {"launch", "--nproc", "2", "--"}, output);
  ASSERT_EQ(ranks.size(), 2u) << "the launcher did not start 2 ranks:\n" << read_text(output);
  const auto start = Clock::now();
  kill(ranks[1], SIGKILL);
  EXPECT_EQ(wait_exit_code(launcher), 1);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  const std::string text = read_text(output);
  EXPECT_TRUE(contains(text, "was killed by signal 9")) << text;
}

TEST(Launch, RanksGetTorchrunVariablesAndSigtermToTheLauncherReachesThem) {
  testing::RunFixture fx("launch-term");
  const std::string port = std::to_string(dist::find_free_port());
  const std::string output = (fx.dir() / "output.txt").string();
  const auto [launcher, ranks] =
      start_long_launch(fx, {"launch", "--nproc", "2", "--master-port", port, "--"}, output);
  ASSERT_EQ(ranks.size(), 2u) << "the launcher did not start 2 ranks:\n" << read_text(output);
  std::string rank_variables;
  for (const pid_t rank : ranks) {
    const std::string env = environment_of(rank, "bench");
    EXPECT_TRUE(contains(env, "\nWORLD_SIZE=2\n") && contains(env, "\nMASTER_ADDR=127.0.0.1\n") &&
                contains(env, "\nMASTER_PORT=" + port + "\n"))
        << env;
    const std::string rank_line = env.substr(env.find("\nRANK=") + 1, 6);
    EXPECT_TRUE(contains(env, "\nLOCAL_" + rank_line + "\n")) << env;
    rank_variables += rank_line + " ";
  }
  EXPECT_TRUE(rank_variables == "RANK=0 RANK=1 " || rank_variables == "RANK=1 RANK=0 ") << rank_variables;
  kill(launcher, SIGTERM);
  EXPECT_EQ(wait_exit_code(launcher), 1);
  const std::string text = read_text(output);
  EXPECT_TRUE(contains(text, "passing it to every rank")) << text;
  EXPECT_TRUE(contains(text, "was killed by signal 15")) << text;
}

}  // namespace
}  // namespace krait::train
