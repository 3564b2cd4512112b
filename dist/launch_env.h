// dist/launch_env.h — LaunchEnv, where this process stands in a data-parallel job (its rank, the world
// size, its rank on this machine, rank 0's address), and read_launch_env, which reads it from the
// variables that torchrun (and `krait launch`), Slurm's srun or Open MPI's mpirun set.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace krait::dist {

struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // the rank on this machine: picks the GPU
  std::string master_addr;   // where rank 0 listens for the rendezvous; empty when world_size is 1
  int master_port = 0;       // 0 when world_size is 1 and none was given
  std::string source;        // "torchrun", "slurm", "openmpi" or "none"
};

// The port rank 0 listens on under Slurm when MASTER_PORT is not set (torchrun's default too).
inline constexpr int kDefaultMasterPort = 29500;

// Looks up one environment variable; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment, for read_launch_env's default.
std::optional<std::string> process_env(const std::string& name);

// Reads the launch environment. The first launcher whose rank variable is set wins:
//   torchrun:  RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
//   Slurm:     SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID; MASTER_ADDR or else the first host of
//              SLURM_JOB_NODELIST; MASTER_PORT or else kDefaultMasterPort
//   Open MPI:  OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK, MASTER_ADDR,
//              MASTER_PORT
// With none of them set: a single process (rank 0 of 1, source "none"). MASTER_ADDR and MASTER_PORT
// are required when the world has more than one rank. Throws krait::Error naming the variable and
// its value for a non-integer, a world size below 1, a rank outside [0, world size), a negative
// local rank, a port outside 1..65535 and a malformed node list.
LaunchEnv read_launch_env(const EnvLookup& env = process_env);

// The first host of a Slurm node list: "node[01-04,07],gpu5" -> "node01", "a-b[3-5]" -> "a-b3",
// "host1,host2" -> "host1". Throws krait::Error when the list is malformed.
std::string first_slurm_host(const std::string& nodelist);

}  // namespace krait::dist
