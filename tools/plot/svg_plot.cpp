// tools/plot/svg_plot.cpp — render_svg (see svg_plot.h).
#include "tools/plot/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "tools/plot/ticks.h"

namespace krait::plot {
namespace {

// Margins around the plot area, in pixels: room for the title, tick labels and axis labels.
constexpr double kMarginLeft = 80, kMarginRight = 24, kMarginTop = 48, kMarginBottom = 56;
constexpr double kLegendRow = 18;      // pixels per legend entry
constexpr double kCharWidth = 6.8;     // a generous average glyph width at font-size 12
constexpr double kLegendInset = 10;    // legend distance from the plot frame

struct Box {
  double left, top, right, bottom;
  bool contains(Point p) const { return p.x >= left && p.x <= right && p.y >= top && p.y <= bottom; }
};

// One axis: the data range it shows, its ticks, and the pixels its ends map to.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;
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
  axis.lo = std::min(lo, axis.ticks.front());
  axis.hi = std::max(hi, axis.ticks.back());
  axis.pixel_lo = pixel_lo;
  axis.pixel_hi = pixel_hi;
  return axis;
}

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

void line(std::ostringstream& out, double x1, double y1, double x2, double y2, const std::string& attributes = "") {
  out << "<line x1=\"" << num(x1) << "\" y1=\"" << num(y1) << "\" x2=\"" << num(x2) << "\" y2=\"" << num(y2) << "\""
      << attributes << "/>\n";
}

void text(std::ostringstream& out, double x, double y, const std::string& content, const std::string& attributes = "") {
  out << "<text x=\"" << num(x) << "\" y=\"" << num(y) << "\"" << attributes << ">" << escape(content) << "</text>\n";
}

void rect(std::ostringstream& out, const Box& box, const std::string& attributes) {
  out << "<rect x=\"" << num(box.left) << "\" y=\"" << num(box.top) << "\" width=\"" << num(box.right - box.left)
      << "\" height=\"" << num(box.bottom - box.top) << "\"" << attributes << "/>\n";
}

// Gridlines, tick marks and tick labels of both axes, then the frame and the axis labels.
void draw_axes(std::ostringstream& out, const Axis& x, const Axis& y, const Box& frame, const PlotOptions& options) {
  const auto x_labels = tick_labels(x.ticks, false);
  const auto y_labels = tick_labels(y.ticks, y.log);
  out << "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
  for (double t : x.ticks) line(out, x.to_pixel(t), frame.top, x.to_pixel(t), frame.bottom);
  for (double t : y.ticks) line(out, frame.left, y.to_pixel(t), frame.right, y.to_pixel(t));
  out << "</g>\n<g stroke=\"#333\" stroke-width=\"1\">\n";
  for (double t : x.ticks) line(out, x.to_pixel(t), frame.bottom, x.to_pixel(t), frame.bottom + 5);
  for (double t : y.ticks) line(out, frame.left - 5, y.to_pixel(t), frame.left, y.to_pixel(t));
  out << "</g>\n<g fill=\"#333\" text-anchor=\"middle\">\n";
  for (size_t i = 0; i < x.ticks.size(); ++i) text(out, x.to_pixel(x.ticks[i]), frame.bottom + 18, x_labels[i]);
  out << "</g>\n<g fill=\"#333\" text-anchor=\"end\">\n";
  for (size_t i = 0; i < y.ticks.size(); ++i) text(out, frame.left - 8, y.to_pixel(y.ticks[i]) + 4, y_labels[i]);
  out << "</g>\n";
  rect(out, frame, " fill=\"none\" stroke=\"#333\" stroke-width=\"1\"");
  const std::string label_style = " text-anchor=\"middle\" font-size=\"13\"";
  text(out, (frame.left + frame.right) / 2, frame.bottom + 42, options.x_label, label_style);
  out << "<g transform=\"translate(18 " << num((frame.top + frame.bottom) / 2) << ") rotate(-90)\">\n";
  text(out, 0, 0, options.y_label + (y.log ? " (log scale)" : ""), label_style);
  out << "</g>\n";
}

void draw_series(std::ostringstream& out, const Series& series, const std::vector<Point>& pixels) {
  out << "<polyline fill=\"none\" stroke=\"" << escape(series.color) << "\" stroke-width=\"" << series.line_width
      << "\" stroke-opacity=\"" << series.opacity << "\" stroke-linejoin=\"round\" points=\"";
  for (size_t i = 0; i < pixels.size(); ++i) out << (i ? " " : "") << num(pixels[i].x) << "," << num(pixels[i].y);
  out << "\"/>\n";
  if (!series.markers && pixels.size() > 1) return;
  out << "<g fill=\"" << escape(series.color) << "\" stroke=\"white\" stroke-width=\"1\">\n";  // stands out on lines
  for (const Point& p : pixels) out << "<circle cx=\"" << num(p.x) << "\" cy=\"" << num(p.y) << "\" r=\"3.5\"/>\n";
  out << "</g>\n";
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

void draw_legend(std::ostringstream& out, const std::vector<const Series*>& shown, const Box& box) {
  out << "<g>\n";
  rect(out, box, " fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"");
  for (size_t i = 0; i < shown.size(); ++i) {
    const Series& s = *shown[i];
    const double y = box.top + 4 + kLegendRow * (static_cast<double>(i) + 0.5);
    std::ostringstream stroke;
    stroke << " stroke=\"" << escape(s.color) << "\" stroke-width=\"" << std::max(s.line_width, 1.5)
           << "\" stroke-opacity=\"" << s.opacity << "\"";
    line(out, box.left + 8, y, box.left + 32, y, stroke.str());
    if (s.markers)
      out << "<circle cx=\"" << num(box.left + 20) << "\" cy=\"" << num(y) << "\" r=\"3.5\" fill=\""
          << escape(s.color) << "\" stroke=\"white\"/>\n";
    text(out, box.left + 38, y + 4, s.label);
  }
  out << "</g>\n";
}

}  // namespace

std::string render_svg(const std::vector<Series>& series, const PlotOptions& options) {
  // The points each series can show (log axes drop y <= 0), and the range they span.
  std::vector<const Series*> shown;
  std::vector<std::vector<Point>> visible;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const Series& s : series) {
    std::vector<Point> points;
    for (const Point& p : s.points) {
      if (options.log_y && p.y <= 0) continue;
      points.push_back(p);
      x_lo = std::min(x_lo, p.x), x_hi = std::max(x_hi, p.x);
      y_lo = std::min(y_lo, p.y), y_hi = std::max(y_hi, p.y);
    }
    if (points.empty()) continue;
    shown.push_back(&s);
    visible.push_back(std::move(points));
  }
  if (shown.empty()) x_lo = 0, x_hi = 1, y_lo = 1, y_hi = 10;

  const double width = options.width, height = options.height;
  const Box frame{kMarginLeft, kMarginTop, width - kMarginRight, height - kMarginBottom};
  const Axis x = make_axis(x_lo, x_hi, false, 8, frame.left, frame.right);
  const Axis y = make_axis(y_lo, y_hi, options.log_y, 6, frame.bottom, frame.top);
  std::vector<std::vector<Point>> pixels;
  for (const auto& points : visible) {
    pixels.emplace_back();
    for (const Point& p : points) pixels.back().push_back({x.to_pixel(p.x), y.to_pixel(p.y)});
  }

  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << options.width << "\" height=\"" << options.height
      << "\" viewBox=\"0 0 " << options.width << " " << options.height
      << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  text(out, width / 2, 30, options.title, " text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\"");
  draw_axes(out, x, y, frame, options);
  for (size_t i = 0; i < shown.size(); ++i) draw_series(out, *shown[i], pixels[i]);
  if (!shown.empty()) draw_legend(out, shown, legend_box(shown, pixels, frame));
  out << "</svg>\n";
  return out.str();
}

}  // namespace krait::plot
