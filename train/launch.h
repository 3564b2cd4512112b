// train/launch.h — `krait launch`: runs N copies of this krait binary as the ranks of one
// data-parallel job on this machine, each told its place the way torchrun tells it, with every line
// of their output prefixed by the rank that wrote it.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace krait::train {

struct LaunchOptions {
  int nproc = 1;                     // ranks to start
  int master_port = 0;               // rank 0's rendezvous port; 0 picks a free one
  std::vector<std::string> command;  // the krait subcommand and its arguments, e.g. {"train", "-c", "r.yaml"}
};

// After a rank fails, how long the others may go on (to report their own errors, often the same one)
// before they are asked to stop (SIGTERM), and how long they then get before they are killed (SIGKILL).
inline constexpr std::chrono::seconds kFailureSettle{1};
inline constexpr std::chrono::seconds kStopGrace{10};

// Starts options.nproc processes of /proc/self/exe with options.command, each with this process's
// environment plus RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and MASTER_PORT
// (CUDA_VISIBLE_DEVICES untouched: a rank picks its GPU by LOCAL_RANK). Their stdout goes to `out`
// and their stderr to `err`, line by line, each line prefixed "[rank k] ". When a rank exits non-zero
// or is killed, the others still running kFailureSettle later get SIGTERM (SIGKILL after kStopGrace).
// SIGINT, SIGTERM and SIGUSR1 sent to this process are forwarded to every rank at once, with no
// SIGKILL after them (`krait train` ranks stop at one step with a checkpoint, train/stop_signal.h). Returns 0 once every rank has exited 0; otherwise throws
// krait::Error naming the first rank that failed and how ("rank 1 exited with status 1").
int launch(const LaunchOptions& options, std::ostream& out, std::ostream& err);

// Helpers for starting copies of this binary (also used by `krait sweep run`, train/sweep_runner.h):
// its path (/proc/self/exe); this process's environment with set's variables replaced or added; and
// null-terminated pointers into strings, for execve.
std::string self_executable();
std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& set);
std::vector<char*> c_strings(std::vector<std::string>& strings);

}  // namespace krait::train
