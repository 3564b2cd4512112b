// tools/plot/series.h — Point and Series, the curves svg_plot draws, and how metrics records become
// them: one series per record kind ("train", "eval"), optionally with a moving average.
#pragma once

#include <string>
#include <vector>

#include "tools/plot/metrics_reader.h"

namespace krait::plot {

struct Point {
  double x = 0;
  double y = 0;
};

struct Series {
  std::string label;  // legend text
  std::string color;  // any SVG colour, e.g. "#1f77b4"
  std::vector<Point> points;
  double line_width = 1.5;
  double opacity = 1.0;
  bool markers = false;  // a dot at every point
  bool line = true;      // false: markers only (markers are then drawn whatever `markers` says)
  bool dashed = false;   // a dashed line
};

// Trailing moving average: point i becomes the mean y of points max(0, i-window+1)..i
// (a window below 1 counts as 1).
std::vector<Point> moving_average(const std::vector<Point>& points, int window);

// The (x_key, y_key) points of the records of one kind, in file order; records lacking either are skipped.
std::vector<Point> select_points(const std::vector<Record>& records, const std::string& kind,
                                 const std::string& x_key, const std::string& y_key);

// The series of one metrics file, all in `color`, labelled "<name> train", "<name> eval", ...:
// train points as a thin line (faded, plus a thicker "avg N" line, when smooth > 1) and eval points
// as a line with markers. Kinds with no points give no series.
std::vector<Series> file_series(const std::vector<Record>& records, const std::string& name,
                                const std::string& color, const std::string& x_key,
                                const std::string& y_key, int smooth);

// The colour of the i-th overlaid file (cycles through a ten-colour palette).
std::string palette_color(size_t i);

}  // namespace krait::plot
