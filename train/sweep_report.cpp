// train/sweep_report.cpp — collect_runs, make_report, the tables and CSV files, the plots and
// run_sweep_report (see sweep_report.h).
#include "train/sweep_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "common/error.h"
#include "tools/plot/raster.h"
#include "tools/plot/svg_plot.h"
#include "train/run_summary.h"

namespace krait::train {
namespace {

constexpr int kFitCurvePoints = 64;  // samples of a fitted law drawn as a dashed curve

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// 129135360 -> "129.1M", 2.5e9 -> "2.50B".
std::string human(double value) {
  if (value >= 1e9) return format("%.2fB", value / 1e9);
  if (value >= 1e6) return format("%.1fM", value / 1e6);
  if (value >= 1e3) return format("%.1fk", value / 1e3);
  return format("%.0f", value);
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  KRAIT_CHECK(out.good(), path.string(), ": cannot write the report file");
}

ReportRow row_of(const SweepRun& run) {
  ReportRow row;
  row.name = run.name, row.arch = run.arch, row.size = run.size, row.loss = NAN;
  const auto summary_path = run.run_dir / kRunSummaryFile;
  if (!std::filesystem::exists(summary_path)) {
    row.status = std::filesystem::exists(run.run_dir) ? "unfinished" : "missing";
    return row;
  }
  RunSummary s;
  try {
    s = read_run_summary(summary_path);
  } catch (const Error& e) {
    row.status = "invalid", row.note = e.what();
    return row;
  }
  row.status = s.status;
  if (s.status == "finished" && s.steps < run.steps) {
    row.status = "unfinished";
    row.note = "summary at step " + std::to_string(s.steps) + " of " + std::to_string(run.steps);
  }
  row.params_total = s.params_total, row.params_non_embedding = s.params_non_embedding, row.tokens = s.tokens;
  row.train_flops = s.train_flops;
  row.loss_is_train = !std::isfinite(s.final_eval_loss);
  row.loss = row.loss_is_train ? s.final_train_loss : s.final_eval_loss;
  return row;
}

// One colour per arch, in the sweep's order, with its usable points.
struct ArchPoints {
  std::string arch, color;
  std::vector<const ReportRow*> rows;  // best_per_size
};

std::vector<ArchPoints> arch_points(const SweepReport& report) {
  std::vector<ArchPoints> all;
  for (size_t i = 0; i < report.fits.size(); ++i) {
    const std::string& arch = report.fits[i].arch;
    all.push_back({arch, plot::palette_color(i), best_per_size(report.rows, arch)});
  }
  return all;
}

// The fitted law sampled evenly in log C over [lo, hi].
std::vector<plot::Point> law_curve(const PowerLawFit& fit, double lo, double hi) {
  std::vector<plot::Point> points;
  for (int i = 0; i < kFitCurvePoints; ++i) {
    const double c = std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * i / (kFitCurvePoints - 1));
    points.push_back({c, fit(c)});
  }
  return points;
}

void write_plot(const std::vector<plot::Series>& series, const plot::PlotOptions& options,
                const std::filesystem::path& stem) {
  write_file(stem.string() + ".svg", plot::render_svg(series, options));
  write_file(stem.string() + ".png", plot::render_png(series, options));
}

void plot_loss_vs_flops(const SweepReport& report, const std::filesystem::path& dir) {
  std::vector<plot::Series> series;
  const auto arches = arch_points(report);
  for (size_t i = 0; i < arches.size(); ++i) {
    const ArchPoints& a = arches[i];
    if (a.rows.empty()) continue;
    plot::Series runs{a.arch, a.color, {}};
    runs.line = false;
    for (const ReportRow* row : a.rows) runs.points.push_back({row->train_flops, row->loss});
    const auto [lo, hi] = std::minmax_element(runs.points.begin(), runs.points.end(),
                                              [](plot::Point p, plot::Point q) { return p.x < q.x; });
    series.push_back(runs);
    const ArchFit& fit = report.fits[i];
    if (!fit.error.empty()) continue;
    plot::Series law{a.arch + " fit: C^" + format("%+.3g", -fit.fit.b) + " (+-" + format("%.1g", fit.fit.b_se) + ")",
                     a.color, law_curve(fit.fit, lo->x, hi->x)};
    law.dashed = true;
    series.push_back(law);
  }
  const plot::PlotOptions options{"Final loss vs training compute", "training FLOPs", "final loss", true, 900, 540, true};
  write_plot(series, options, dir / "loss_vs_flops");
}

void plot_loss_vs_params(const SweepReport& report, const std::filesystem::path& dir) {
  std::vector<plot::Series> series;
  for (const ArchPoints& a : arch_points(report)) {
    if (a.rows.empty()) continue;
    plot::Series line{a.arch, a.color, {}};
    line.markers = true;
    for (const ReportRow* row : a.rows) line.points.push_back({static_cast<double>(row->params_non_embedding), row->loss});
    series.push_back(line);
  }
  const plot::PlotOptions options{"Final loss vs model size", "non-embedding parameters", "final loss", true, 900, 540,
                                  true};
  write_plot(series, options, dir / "loss_vs_params");
}

}  // namespace

bool ReportRow::usable() const {
  return status == "finished" && std::isfinite(loss) && loss > 0 && train_flops > 0 && params_non_embedding > 0;
}

std::vector<ReportRow> collect_runs(const std::vector<SweepRun>& runs) {
  std::vector<ReportRow> rows;
  for (const SweepRun& run : runs) rows.push_back(row_of(run));
  return rows;
}

std::vector<const ReportRow*> best_per_size(const std::vector<ReportRow>& rows, const std::string& arch) {
  std::map<std::string, const ReportRow*> best;
  for (const ReportRow& row : rows) {
    if (row.arch != arch || !row.usable()) continue;
    const ReportRow*& slot = best[row.size];
    if (!slot || row.loss < slot->loss) slot = &row;
  }
  std::vector<const ReportRow*> chosen;
  for (const auto& [size, row] : best) chosen.push_back(row);
  std::sort(chosen.begin(), chosen.end(), [](const ReportRow* a, const ReportRow* b) {
    return a->params_non_embedding < b->params_non_embedding;
  });
  return chosen;
}

SweepReport make_report(std::vector<ReportRow> rows, const std::vector<std::string>& archs, bool fit_offset) {
  SweepReport report{std::move(rows), {}};
  for (const std::string& arch : archs) {
    ArchFit fit;
    fit.arch = arch;
    std::vector<double> flops, losses;
    for (const ReportRow* row : best_per_size(report.rows, arch)) {
      flops.push_back(row->train_flops);
      losses.push_back(row->loss);
    }
    try {
      fit.fit = fit_offset ? fit_power_law_offset(flops, losses) : fit_power_law(flops, losses);
    } catch (const Error& e) {
      fit.error = e.what();
    }
    report.fits.push_back(fit);
  }
  return report;
}

std::string markdown_table(const std::vector<ReportRow>& rows) {
  std::string table = "| run | arch | size | params | non-emb params | tokens | FLOPs | loss | status |\n"
                      "|---|---|---|---:|---:|---:|---:|---:|---|\n";
  for (const ReportRow& r : rows) {
    const bool known = r.params_total > 0;
    table += "| " + r.name + " | " + r.arch + " | " + r.size + " | " + (known ? human(r.params_total) : "") + " | " +
             (known ? human(r.params_non_embedding) : "") + " | " + (known ? human(r.tokens) : "") + " | " +
             (known ? format("%.3g", r.train_flops) : "") + " | " +
             (std::isfinite(r.loss) ? format("%.4f", r.loss) + (r.loss_is_train ? " (train)" : "") : "") + " | " +
             r.status + " |\n";
  }
  return table;
}

std::string runs_csv(const std::vector<ReportRow>& rows) {
  std::string csv = "name,arch,size,status,params_total,params_non_embedding,tokens,train_flops,loss,loss_source\n";
  for (const ReportRow& r : rows) {
    const bool loss = std::isfinite(r.loss);
    csv += csv_field(r.name) + "," + csv_field(r.arch) + "," + csv_field(r.size) + "," + csv_field(r.status) + "," +
           std::to_string(r.params_total) + "," + std::to_string(r.params_non_embedding) + "," +
           std::to_string(r.tokens) + "," + format("%.6e", r.train_flops) + "," + (loss ? format("%.6f", r.loss) : "") +
           "," + (loss ? (r.loss_is_train ? "train" : "eval") : "") + "\n";
  }
  return csv;
}

std::string fits_csv(const std::vector<ArchFit>& fits) {
  std::string csv = "arch,a,a_se,b,b_se,e,e_se,r2,points\n";
  for (const ArchFit& f : fits) {
    if (!f.error.empty()) continue;
    const PowerLawFit& p = f.fit;
    csv += csv_field(f.arch) + "," + format("%.8g", p.a) + "," + format("%.4g", p.a_se) + "," + format("%.8g", p.b) +
           "," + format("%.4g", p.b_se) + "," + (p.has_offset ? format("%.8g", p.e) : "") + "," +
           (p.has_offset ? format("%.4g", p.e_se) : "") + "," + format("%.6f", p.r2) + "," + std::to_string(p.points) +
           "\n";
  }
  return csv;
}

void write_report(const SweepReport& report, const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  KRAIT_CHECK(!error, dir.string(), ": cannot create the report folder: ", error.message());
  write_file(dir / "runs.csv", runs_csv(report.rows));
  write_file(dir / "fits.csv", fits_csv(report.fits));
  plot_loss_vs_flops(report, dir);
  plot_loss_vs_params(report, dir);
}

int run_sweep_report(const std::filesystem::path& sweep_file, bool fit_offset, const std::filesystem::path& out_dir,
                     std::ostream& out) {
  const SweepSpec spec = read_sweep(sweep_file);
  std::vector<std::string> archs;
  for (const SweepArch& arch : spec.archs) archs.push_back(arch.name);
  const SweepReport report = make_report(collect_runs(expand_sweep(spec)), archs, fit_offset);
  const std::filesystem::path dir = out_dir.empty() ? spec.out_dir / "report" : out_dir;
  write_report(report, dir);
  out << markdown_table(report.rows);
  for (const ReportRow& row : report.rows)
    if (!row.note.empty()) out << "note: " << row.name << ": " << row.note << "\n";
  out << "\nfits of final loss L against training FLOPs C" << (fit_offset ? " (with an offset e)" : "")
      << ", best run per size:\n";
  for (const ArchFit& fit : report.fits)
    out << (fit.error.empty() ? format_power_law(fit.arch, fit.fit) : fit.arch + ": no fit: " + fit.error) << "\n";
  out << "report: " << (dir / "runs.csv").string() << ", fits.csv, loss_vs_flops.{svg,png}, loss_vs_params.{svg,png}\n";
  return 0;
}

}  // namespace krait::train
