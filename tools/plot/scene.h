// tools/plot/scene.h — Scene, a plot laid out as drawing primitives in pixel coordinates (lines,
// polylines, circles, rectangles, text), and layout_plot, which lays out series and PlotOptions into
// one. render_svg and render_png draw the same Scene, so the SVG and the PNG agree.
#pragma once

#include <string>
#include <variant>
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
  bool log_x = false;  // points with x <= 0 are then left out
};

struct Stroke {
  std::string color;  // "#rrggbb", "#rgb" or a basic colour name
  double width = 1;
  double opacity = 1;
  bool dashed = false;  // kDashOn pixels drawn, kDashOff left out, repeated
};

// Dash pattern of dashed strokes, in pixels: on, off.
inline constexpr double kDashOn = 7, kDashOff = 4;

struct Line {
  Point from, to;
  Stroke stroke;
};

struct Polyline {
  std::vector<Point> points;
  Stroke stroke;
};

struct Circle {
  Point center;
  double radius = 3.5;
  std::string fill;
  std::string outline = "white";  // a 1-pixel ring in this colour
};

struct Rect {
  double left = 0, top = 0, right = 0, bottom = 0;
  std::string fill;  // "" for none
  double fill_opacity = 1;
  std::string outline;  // "" for none; 1 pixel wide
};

enum class Anchor { Start, Middle, End };

struct Text {
  Point at;  // the baseline's anchor point
  std::string text;
  std::string superscript{};  // drawn raised after `text` ("10" with "18" reads 10^18)
  double size = 12;         // font size in pixels
  Anchor anchor = Anchor::Start;
  bool bold = false;
  bool vertical = false;  // rotated 90 degrees counter-clockwise (reads bottom to top)
  std::string color = "#333";
};

using Element = std::variant<Line, Polyline, Circle, Rect, Text>;

struct Scene {
  int width = 0, height = 0;  // pixels; the background is white
  std::vector<Element> elements;  // in drawing order
};

// The plot: title, gridlines, ticks and labels, axis labels, the frame, the series (a polyline per
// series with a line, solid or dashed; a circle per point with markers; a lone point shows as a
// marker) and a legend entry per non-empty series in the plot corner with fewest points.
Scene layout_plot(const std::vector<Series>& series, const PlotOptions& options);

}  // namespace krait::plot
