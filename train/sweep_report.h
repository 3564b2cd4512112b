// train/sweep_report.h — `krait sweep report`: every run of a sweep (train/sweep_spec.h) with its
// RUN_DIR/summary.json (train/run_summary.h) collected into a table, power laws of loss against
// training FLOPs fitted per architecture (train/power_law.h), and the report written to a folder:
//
//   runs.csv                  one row per run: name, arch, size, status, params, tokens, FLOPs, loss
//   fits.csv                  arch, a, a_se, b, b_se, e, e_se, r2, points (e, e_se empty without offset)
//   loss_vs_flops.{svg,png}   log-log, a colour per arch: its runs as markers, its fit dashed
//   loss_vs_params.{svg,png}  log-log, non-embedding params on x, a line per arch through its sizes
//
// A run's loss is its final eval loss, or, when it had no evaluation, its final train loss (marked).
// Runs without a finished summary (missing, unfinished, unreadable) are listed but left out of fits
// and plots. With several runs of one arch and size (an lr or seq_len grid), the fits and plots take
// the one with the lowest loss: the best-tuned point of each size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "train/power_law.h"
#include "train/sweep_spec.h"

namespace krait::train {

struct ReportRow {
  std::string name, arch, size;
  std::string status;  // "finished", "missing" (no run directory), "unfinished" (no summary yet), the
                       // summary's own status, or "invalid" (its summary.json could not be read)
  std::string note;    // why a summary is invalid
  int64_t params_total = 0, params_non_embedding = 0, tokens = 0;
  double train_flops = 0;
  double loss = 0;            // NaN when unknown
  bool loss_is_train = false; // no eval loss: the final train loss stands in
  bool usable() const;        // finished, with a positive finite loss and FLOPs
};

struct ArchFit {
  std::string arch;
  PowerLawFit fit;     // valid when error is empty
  std::string error;   // why there is no fit (too few runs, no convergence, ...)
};

struct SweepReport {
  std::vector<ReportRow> rows;  // in the sweep's run order
  std::vector<ArchFit> fits;    // in the sweep's arch order
};

// The rows of the runs: each run directory's summary.json read, or the reason there is none.
std::vector<ReportRow> collect_runs(const std::vector<SweepRun>& runs);

// Per arch, the usable rows the fits and plots take: the lowest-loss row of each size, by params.
std::vector<const ReportRow*> best_per_size(const std::vector<ReportRow>& rows, const std::string& arch);

// The rows and, per arch in `archs`, the fit of loss against train_flops (with an offset e when asked).
SweepReport make_report(std::vector<ReportRow> rows, const std::vector<std::string>& archs, bool fit_offset);

std::string markdown_table(const std::vector<ReportRow>& rows);
std::string runs_csv(const std::vector<ReportRow>& rows);
std::string fits_csv(const std::vector<ArchFit>& fits);

// Writes runs.csv, fits.csv and the four images into `dir` (created if needed).
void write_report(const SweepReport& report, const std::filesystem::path& dir);

// `krait sweep report`: reads and expands the sweep, prints the table and the fitted laws to `out`,
// writes the report into out_dir (default: the sweep's out/report). Returns 0.
int run_sweep_report(const std::filesystem::path& sweep_file, bool fit_offset, const std::filesystem::path& out_dir,
                     std::ostream& out);

}  // namespace krait::train
