// tools/plot/main.cpp — krait-plot: draws a metric (loss by default) from one or more Krait metrics
// files (JSON Lines, see train/metrics_log.h) as an SVG line chart, one colour per file.
#include <CLI/CLI.hpp>

#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "tools/plot/metrics_reader.h"
#include "tools/plot/series.h"
#include "tools/plot/svg_plot.h"

namespace {

using namespace krait::plot;

struct Options {
  std::vector<std::string> files;
  std::vector<std::string> labels;
  std::string output;
  std::string x_key = "step";
  std::string y_key = "loss";
  int smooth = 1;
  bool log_y = false;
  std::string title;
};

// A metrics file's legend name: the folder it is in, which is the run directory.
std::string run_name(const std::string& path) {
  const std::filesystem::path absolute = std::filesystem::absolute(path).lexically_normal();
  const std::string dir = absolute.parent_path().filename().string();
  return dir.empty() ? absolute.stem().string() : dir;
}

void plot(const Options& options) {
  if (!options.labels.empty() && options.labels.size() != options.files.size())
    throw krait::Error("--label was given " + std::to_string(options.labels.size()) + " times for " +
                       std::to_string(options.files.size()) + " metrics files");
  std::vector<Series> series;
  for (size_t i = 0; i < options.files.size(); ++i) {
    const std::string& file = options.files[i];
    const std::string name = options.labels.empty() ? run_name(file) : options.labels[i];
    const auto records = read_metrics(file);
    auto more = file_series(records, name, palette_color(i), options.x_key, options.y_key, options.smooth);
    if (more.empty())
      std::cerr << "krait-plot: warning: " << file << " has no '" << options.y_key << "' values by '"
                << options.x_key << "'\n";
    series.insert(series.end(), more.begin(), more.end());
  }
  if (series.empty()) throw krait::Error("no '" + options.y_key + "' values to plot");

  PlotOptions plot_options;
  plot_options.title = options.title.empty() ? options.y_key + " by " + options.x_key : options.title;
  plot_options.x_label = options.x_key;
  plot_options.y_label = options.y_key;
  plot_options.log_y = options.log_y;
  std::ofstream out(options.output, std::ios::trunc);
  out << render_svg(series, plot_options);
  out.close();
  if (!out) throw krait::Error(options.output + ": cannot write the SVG file");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"krait-plot: draws loss curves from Krait metrics files (JSON Lines) into an SVG."};
  Options options;
  app.add_option("metrics", options.files, "Metrics files (metrics.jsonl); several are overlaid")->required();
  app.add_option("-o,--output", options.output, "SVG file to write")->required();
  app.add_option("--x", options.x_key, "X axis")->check(CLI::IsMember({"step", "tokens"}))->capture_default_str();
  app.add_option("--y", options.y_key, "Metric to plot")
      ->check(CLI::IsMember({"loss", "lr", "grad_norm", "tokens_per_s", "bpb"}))
      ->capture_default_str();
  app.add_option("--smooth", options.smooth, "Also draw a moving average of N train points")
      ->check(CLI::Range(1, 1000000));
  app.add_flag("--log-y", options.log_y, "Log-scale y axis");
  app.add_option("--title", options.title, "Chart title (default: \"<y> by <x>\")");
  app.add_option("--label", options.labels, "Legend name of a metrics file: one --label per file, in order (default: its folder's name)")
      ->allow_extra_args(false);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << "krait-plot: " << e.what() << "\n";
    return 1;
  }
  try {
    plot(options);
  } catch (const std::exception& e) {
    std::cerr << "krait-plot: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
