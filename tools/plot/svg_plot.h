// tools/plot/svg_plot.h — PlotOptions and render_svg: draws series as an SVG line chart with a
// title, axis labels, gridlines at nice ticks and a legend, optionally on a log-scale y axis.
#pragma once

#include <string>
#include <vector>

#include "tools/plot/series.h"

namespace krait::plot {

struct PlotOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_y = false;  // points with y <= 0 are then left out
  int width = 900;     // pixels
  int height = 540;
};

// The whole SVG document: one <polyline> per non-empty series (a lone point shows as a marker),
// markers as <circle>s, and a legend entry per non-empty series in the plot corner with fewest points.
std::string render_svg(const std::vector<Series>& series, const PlotOptions& options);

}  // namespace krait::plot
