// tools/plot/scene.cpp — layout_plot (see scene.h): axes, series and legend as drawing primitives.
#include "tools/plot/scene.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tools/plot/ticks.h"

namespace krait::plot {
namespace {

// Margins around the plot area, in pixels: room for the title, tick labels and axis labels.
constexpr double kMarginLeft = 80, kMarginRight = 24, kMarginTop = 48, kMarginBottom = 56;
constexpr double kLegendRow = 18;      // pixels per legend entry
constexpr double kCharWidth = 6.8;     // a generous average glyph width at font-size 12
constexpr double kLegendInset = 10;    // legend distance from the plot frame
constexpr double kMarkerRadius = 3.5;
const std::string kInk = "#333";

struct Box {
  double left, top, right, bottom;
  bool contains(Point p) const { return p.x >= left && p.x <= right && p.y >= top && p.y <= bottom; }
};

// One axis: the data range it shows, its ticks and their labels, and the pixels its ends map to.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;
  std::vector<std::string> labels;
  double pixel_lo = 0, pixel_hi = 1;

  double scaled(double v) const { return log ? std::log10(v) : v; }
  double to_pixel(double v) const {
    return pixel_lo + (scaled(v) - scaled(lo)) / (scaled(hi) - scaled(lo)) * (pixel_hi - pixel_lo);
  }
};

// An axis whose ticks cover [lo, hi] (lo < hi after nice_ticks widens a zero-width range).
Axis make_axis(double lo, double hi, bool log, int target, double pixel_lo, double pixel_hi) {
  Axis axis;
  axis.log = log;
  axis.ticks = log ? log_ticks(lo, hi) : nice_ticks(lo, hi, target);
  axis.labels = tick_labels(axis.ticks, log);
  axis.lo = std::min(lo, axis.ticks.front());
  axis.hi = std::max(hi, axis.ticks.back());
  axis.pixel_lo = pixel_lo;
  axis.pixel_hi = pixel_hi;
  return axis;
}

// A tick label as text: "10^k" becomes "10" with the superscript k.
Text tick_text(Point at, const std::string& label, Anchor anchor) {
  const std::string exponent = power_of_ten_exponent(label);
  Text text{at, exponent.empty() ? label : "10", exponent};
  text.anchor = anchor;
  return text;
}

// Gridlines (lighter at unlabelled ticks), tick marks and tick labels of both axes, then the frame
// and the axis labels.
void add_axes(Scene& scene, const Axis& x, const Axis& y, const Box& frame, const PlotOptions& options) {
  auto grid = [](const std::string& label) { return Stroke{label.empty() ? "#f0f0f0" : "#e4e4e4", 1}; };
  for (size_t i = 0; i < x.ticks.size(); ++i) {
    const double px = x.to_pixel(x.ticks[i]);
    scene.elements.push_back(Line{{px, frame.top}, {px, frame.bottom}, grid(x.labels[i])});
  }
  for (size_t i = 0; i < y.ticks.size(); ++i) {
    const double py = y.to_pixel(y.ticks[i]);
    scene.elements.push_back(Line{{frame.left, py}, {frame.right, py}, grid(y.labels[i])});
  }
  for (size_t i = 0; i < x.ticks.size(); ++i) {
    const double px = x.to_pixel(x.ticks[i]), length = x.labels[i].empty() ? 3 : 5;
    scene.elements.push_back(Line{{px, frame.bottom}, {px, frame.bottom + length}, {kInk, 1}});
    if (!x.labels[i].empty()) scene.elements.push_back(tick_text({px, frame.bottom + 18}, x.labels[i], Anchor::Middle));
  }
  for (size_t i = 0; i < y.ticks.size(); ++i) {
    const double py = y.to_pixel(y.ticks[i]), length = y.labels[i].empty() ? 3 : 5;
    scene.elements.push_back(Line{{frame.left - length, py}, {frame.left, py}, {kInk, 1}});
    if (!y.labels[i].empty()) scene.elements.push_back(tick_text({frame.left - 8, py + 4}, y.labels[i], Anchor::End));
  }
  scene.elements.push_back(Rect{frame.left, frame.top, frame.right, frame.bottom, "", 1, kInk});
  Text x_label{{(frame.left + frame.right) / 2, frame.bottom + 42}, options.x_label + (x.log ? " (log scale)" : "")};
  x_label.size = 13, x_label.anchor = Anchor::Middle;
  Text y_label{{18, (frame.top + frame.bottom) / 2}, options.y_label + (y.log ? " (log scale)" : "")};
  y_label.size = 13, y_label.anchor = Anchor::Middle, y_label.vertical = true;
  scene.elements.push_back(x_label);
  scene.elements.push_back(y_label);
}

Stroke series_stroke(const Series& s) { return {s.color, s.line_width, s.opacity, s.dashed}; }

void add_markers(Scene& scene, const Series& s, const std::vector<Point>& pixels) {
  for (const Point& p : pixels) scene.elements.push_back(Circle{p, kMarkerRadius, s.color});
}

void add_series(Scene& scene, const Series& s, const std::vector<Point>& pixels) {
  if (s.line) scene.elements.push_back(Polyline{pixels, series_stroke(s)});
  if (!s.line || s.markers || pixels.size() == 1) add_markers(scene, s, pixels);
}

// The legend's box in whichever plot corner covers the fewest points (top right on ties).
Box legend_box(const std::vector<const Series*>& shown, const std::vector<std::vector<Point>>& pixels,
               const Box& frame) {
  size_t longest = 0;
  for (const Series* s : shown) longest = std::max(longest, s->label.size());
  const double width = 44 + kCharWidth * static_cast<double>(longest);
  const double height = 8 + kLegendRow * static_cast<double>(shown.size());
  const double left = frame.left + kLegendInset, right = frame.right - kLegendInset - width;
  const double top = frame.top + kLegendInset, bottom = frame.bottom - kLegendInset - height;
  Box best{};
  size_t best_count = std::numeric_limits<size_t>::max();
  for (const auto [x, y] : {Point{right, top}, Point{left, top}, Point{right, bottom}, Point{left, bottom}}) {
    const Box box{x, y, x + width, y + height};
    size_t count = 0;
    for (const auto& points : pixels)
      count += std::count_if(points.begin(), points.end(), [&](Point p) { return box.contains(p); });
    if (count < best_count) best = box, best_count = count;
  }
  return best;
}

void add_legend(Scene& scene, const std::vector<const Series*>& shown, const Box& box) {
  scene.elements.push_back(Rect{box.left, box.top, box.right, box.bottom, "white", 0.85, "#bbb"});
  for (size_t i = 0; i < shown.size(); ++i) {
    const Series& s = *shown[i];
    const double y = box.top + 4 + kLegendRow * (static_cast<double>(i) + 0.5);
    Stroke stroke = series_stroke(s);
    stroke.width = std::max(stroke.width, 1.5);
    if (s.line) scene.elements.push_back(Line{{box.left + 8, y}, {box.left + 32, y}, stroke});
    if (s.markers || !s.line) scene.elements.push_back(Circle{{box.left + 20, y}, kMarkerRadius, s.color});
    scene.elements.push_back(Text{{box.left + 38, y + 4}, s.label});
  }
}

}  // namespace

Scene layout_plot(const std::vector<Series>& series, const PlotOptions& options) {
  // The points each series can show (log axes drop values <= 0), and the range they span.
  std::vector<const Series*> shown;
  std::vector<std::vector<Point>> visible;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const Series& s : series) {
    std::vector<Point> points;
    for (const Point& p : s.points) {
      if ((options.log_y && p.y <= 0) || (options.log_x && p.x <= 0)) continue;
      points.push_back(p);
      x_lo = std::min(x_lo, p.x), x_hi = std::max(x_hi, p.x);
      y_lo = std::min(y_lo, p.y), y_hi = std::max(y_hi, p.y);
    }
    if (points.empty()) continue;
    shown.push_back(&s);
    visible.push_back(std::move(points));
  }
  if (shown.empty()) x_lo = 1, x_hi = 10, y_lo = 1, y_hi = 10;

  Scene scene{options.width, options.height, {}};
  const Box frame{kMarginLeft, kMarginTop, options.width - kMarginRight, options.height - kMarginBottom};
  const Axis x = make_axis(x_lo, x_hi, options.log_x, 8, frame.left, frame.right);
  const Axis y = make_axis(y_lo, y_hi, options.log_y, 6, frame.bottom, frame.top);
  std::vector<std::vector<Point>> pixels;
  for (const auto& points : visible) {
    pixels.emplace_back();
    for (const Point& p : points) pixels.back().push_back({x.to_pixel(p.x), y.to_pixel(p.y)});
  }

  Text title{{options.width / 2.0, 30}, options.title};
  title.size = 16, title.anchor = Anchor::Middle, title.bold = true;
  scene.elements.push_back(title);
  add_axes(scene, x, y, frame, options);
  for (size_t i = 0; i < shown.size(); ++i) add_series(scene, *shown[i], pixels[i]);
  if (!shown.empty()) add_legend(scene, shown, legend_box(shown, pixels, frame));
  return scene;
}

}  // namespace krait::plot
