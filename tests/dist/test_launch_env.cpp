// read_launch_env with a fake environment for each launcher (torchrun, Slurm, Open MPI, none), the
// precedence between them, every error it names, and Slurm node-list expansion.
#include <gtest/gtest.h>

#include <map>

#include "common/error.h"
#include "dist/launch_env.h"

namespace krait::dist {
namespace {

using Vars = std::map<std::string, std::string>;

LaunchEnv read(const Vars& vars) {
  return read_launch_env([&](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

// The message of the krait::Error that reading `vars` throws ("" when it throws none).
std::string error_of(const Vars& vars) {
  try {
    read(vars);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const Vars kTorchrun = {{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.0.0.7"},
                        {"MASTER_PORT", "29400"}};

Vars with(Vars vars, const std::string& name, const std::string& value) {
  vars[name] = value;
  return vars;
}

Vars without(Vars vars, const std::string& name) {
  vars.erase(name);
  return vars;
}

TEST(LaunchEnv, NoLauncherIsOneProcess) {
  const LaunchEnv env = read({{"MASTER_PORT", "not read"}});
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.local_rank, 0);
  EXPECT_EQ(env.source, "none");
  EXPECT_EQ(env.master_addr, "");
}

TEST(LaunchEnv, Torchrun) {
  const LaunchEnv env = read(kTorchrun);
  EXPECT_EQ(env.source, "torchrun");
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "10.0.0.7");
  EXPECT_EQ(env.master_port, 29400);
}

TEST(LaunchEnv, SingleRankNeedsNoAddress) {
  const LaunchEnv env = read({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"LOCAL_RANK", "0"}});
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.master_port, 0);
}

TEST(LaunchEnv, Slurm) {
  const Vars slurm = {{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "16"}, {"SLURM_LOCALID", "5"},
                      {"SLURM_JOB_NODELIST", "gpu[003-004,010],login1"}};
  LaunchEnv env = read(slurm);
  EXPECT_EQ(env.source, "slurm");
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.world_size, 16);
  EXPECT_EQ(env.local_rank, 5);
  EXPECT_EQ(env.master_addr, "gpu003");
  EXPECT_EQ(env.master_port, kDefaultMasterPort);

  env = read(with(with(slurm, "MASTER_ADDR", "head"), "MASTER_PORT", "1234"));
  EXPECT_EQ(env.master_addr, "head");
  EXPECT_EQ(env.master_port, 1234);
}

TEST(LaunchEnv, OpenMpi) {
  const Vars mpi = {{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"},
                    {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"MASTER_ADDR", "node1"}, {"MASTER_PORT", "6000"}};
  const LaunchEnv env = read(mpi);
  EXPECT_EQ(env.source, "openmpi");
  EXPECT_EQ(env.rank, 1);
  EXPECT_EQ(env.world_size, 2);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "node1");
  EXPECT_EQ(env.master_port, 6000);
  EXPECT_NE(error_of(without(mpi, "MASTER_ADDR")).find("MASTER_ADDR is not set"), std::string::npos);
  EXPECT_NE(error_of(without(mpi, "MASTER_PORT")).find("MASTER_PORT is not set"), std::string::npos);
}

TEST(LaunchEnv, TorchrunBeatsSlurmBeatsOpenMpi) {
  Vars all = kTorchrun;
  all.insert({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"SLURM_LOCALID", "0"}, {"OMPI_COMM_WORLD_RANK", "0"},
              {"OMPI_COMM_WORLD_SIZE", "1"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "0"}});
  EXPECT_EQ(read(all).source, "torchrun");
  EXPECT_EQ(read(without(all, "RANK")).source, "slurm");
  EXPECT_EQ(read(without(without(all, "RANK"), "SLURM_PROCID")).source, "openmpi");
}

TEST(LaunchEnv, ErrorsNameTheVariableAndValue) {
  const std::pair<Vars, std::string> cases[] = {
      {with(kTorchrun, "RANK", "two"), "RANK=\"two\" is not an integer"},
      {with(kTorchrun, "WORLD_SIZE", "8x"), "WORLD_SIZE=\"8x\" is not an integer"},
      {with(kTorchrun, "LOCAL_RANK", ""), "LOCAL_RANK=\"\" is not an integer"},
      {with(kTorchrun, "WORLD_SIZE", "0"), "WORLD_SIZE=0 must be at least 1"},
      {with(kTorchrun, "RANK", "8"), "RANK=8 is outside [0, WORLD_SIZE=8)"},
      {with(kTorchrun, "RANK", "-1"), "RANK=-1 is outside [0, WORLD_SIZE=8)"},
      {with(kTorchrun, "LOCAL_RANK", "-2"), "LOCAL_RANK=-2 must not be negative"},
      {without(kTorchrun, "LOCAL_RANK"), "RANK is set (a torchrun launch) but LOCAL_RANK is not"},
      {without(kTorchrun, "MASTER_ADDR"), "MASTER_ADDR is not set"},
      {without(kTorchrun, "MASTER_PORT"), "MASTER_PORT is not set"},
      {with(kTorchrun, "MASTER_PORT", "0"), "MASTER_PORT=0 is not a TCP port (1..65535)"},
      {with(kTorchrun, "MASTER_PORT", "65536"), "MASTER_PORT=65536 is not a TCP port (1..65535)"},
      {with(kTorchrun, "MASTER_PORT", "http"), "MASTER_PORT=\"http\" is not an integer"},
      {{{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}, {"SLURM_LOCALID", "0"}},
       "MASTER_ADDR is not set (nor SLURM_JOB_NODELIST)"},
      {{{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}, {"SLURM_LOCALID", "0"}, {"SLURM_JOB_NODELIST", "n[1-"}},
       "SLURM_JOB_NODELIST=\"n[1-\": unbalanced brackets"},
  };
  for (const auto& [vars, expected] : cases) {
    const std::string message = error_of(vars);
    EXPECT_NE(message.find(expected), std::string::npos) << "expected \"" << expected << "\", got \"" << message
                                                         << "\"";
  }
}

TEST(SlurmNodelist, FirstHost) {
  EXPECT_EQ(first_slurm_host("node[01-04,07],gpu5"), "node01");
  EXPECT_EQ(first_slurm_host("a-b[3-5]"), "a-b3");
  EXPECT_EQ(first_slurm_host("host1,host2"), "host1");
  EXPECT_EQ(first_slurm_host("solo"), "solo");
  EXPECT_EQ(first_slurm_host("rack[2-3]-n[10-12]"), "rack2-n10");
  EXPECT_EQ(first_slurm_host("n[7]x,m[1-2]"), "n7x");
}

TEST(SlurmNodelist, MalformedListsAreErrors) {
  for (const std::string bad : {"", ",a", "a,", "n[]", "n[1-", "n1]", "n[[1]]", "n[a-b]", "n[4-2]", "n[1,]",
                                "[1-2]", "n[-3]"}) {
    EXPECT_THROW(first_slurm_host(bad), Error) << "\"" << bad << "\"";
  }
}

}  // namespace
}  // namespace krait::dist
