// train/sweep_runner.h — `krait sweep run` and `krait sweep status`: a sweep's runs (train/sweep_spec.h)
// trained as `krait train` child processes, one after another or several at once, with every piece of
// state in the run directories so that a runner killed and started again carries on:
//
//   RUN_DIR/summary.json  the run finished (train/run_summary.h): skipped
//   RUN_DIR/sweep.lock    flock-ed (holding the runner's pid) while a runner trains the run; the
//                         child inherits the lock, so a run whose trainer outlives its runner stays
//                         locked until it exits, and two runners never train one run at once
//   RUN_DIR/train.log     the child's stdout and stderr, appended to on every start
//   RUN_DIR/sweep.failed  the last attempt failed (its exit status); removed when the run starts again
//
// An interrupted run is simply started again: the trainer resumes from its newest checkpoint.
#pragma once

#include <filesystem>
#include <ostream>
#include <vector>

namespace krait::train {

struct SweepRunOptions {
  std::vector<int> gpus;  // one run per listed GPU at a time, with CUDA_VISIBLE_DEVICES set to it
  int parallel = 1;       // without gpus: runs at a time
  bool dry_run = false;   // print the runs and their commands; start nothing, write nothing
  double poll_s = 0.2;    // how often children and run directories are looked at
  double report_s = 30.0; // a progress line at least this often (and whenever a run starts or ends)
};

// Trains every run of the sweep file that has not finished. Writes OUT/sweep.yaml (a copy of the
// sweep file). A failed run is reported with the end of its train.log and the others go on; a run
// another process holds (its lock) is waited for. Returns 0 when every run has finished, 1 when any
// failed.
int run_sweep(const std::filesystem::path& sweep_file, const SweepRunOptions& options, std::ostream& out);

// Prints the table of the sweep's runs and their states (finished, running, failed, partial at step
// k, pending), without starting anything.
void print_sweep_status(const std::filesystem::path& sweep_file, std::ostream& out);

}  // namespace krait::train
