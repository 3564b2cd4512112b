// tools/plot/svg_plot.cpp — scene_svg and render_svg (see svg_plot.h).
#include "tools/plot/svg_plot.h"

#include <cstdio>
#include <sstream>

namespace krait::plot {
namespace {

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

std::string stroke_attributes(const Stroke& s) {
  std::ostringstream out;
  out << " stroke=\"" << escape(s.color) << "\" stroke-width=\"" << s.width << "\"";
  if (s.opacity != 1) out << " stroke-opacity=\"" << s.opacity << "\"";
  if (s.dashed) out << " stroke-dasharray=\"" << kDashOn << " " << kDashOff << "\"";
  return out.str();
}

// Writes one element; a struct per primitive, overloaded for std::visit.
struct Writer {
  std::ostringstream& out;

  void operator()(const Line& l) const {
    out << "<line x1=\"" << num(l.from.x) << "\" y1=\"" << num(l.from.y) << "\" x2=\"" << num(l.to.x) << "\" y2=\""
        << num(l.to.y) << "\"" << stroke_attributes(l.stroke) << "/>\n";
  }
  void operator()(const Polyline& p) const {
    out << "<polyline fill=\"none\"" << stroke_attributes(p.stroke) << " stroke-linejoin=\"round\" points=\"";
    for (size_t i = 0; i < p.points.size(); ++i) out << (i ? " " : "") << num(p.points[i].x) << "," << num(p.points[i].y);
    out << "\"/>\n";
  }
  void operator()(const Circle& c) const {
    out << "<circle cx=\"" << num(c.center.x) << "\" cy=\"" << num(c.center.y) << "\" r=\"" << c.radius << "\" fill=\""
        << escape(c.fill) << "\" stroke=\"" << escape(c.outline) << "\" stroke-width=\"1\"/>\n";
  }
  void operator()(const Rect& r) const {
    out << "<rect x=\"" << num(r.left) << "\" y=\"" << num(r.top) << "\" width=\"" << num(r.right - r.left)
        << "\" height=\"" << num(r.bottom - r.top) << "\" fill=\"" << (r.fill.empty() ? "none" : escape(r.fill)) << "\"";
    if (r.fill_opacity != 1) out << " fill-opacity=\"" << r.fill_opacity << "\"";
    if (!r.outline.empty()) out << " stroke=\"" << escape(r.outline) << "\" stroke-width=\"1\"";
    out << "/>\n";
  }
  void operator()(const Text& t) const {
    static constexpr const char* kAnchors[] = {"start", "middle", "end"};
    out << "<text x=\"" << num(t.at.x) << "\" y=\"" << num(t.at.y) << "\" fill=\"" << escape(t.color)
        << "\" font-size=\"" << t.size << "\" text-anchor=\"" << kAnchors[static_cast<int>(t.anchor)] << "\"";
    if (t.bold) out << " font-weight=\"bold\"";
    if (t.vertical) out << " transform=\"rotate(-90 " << num(t.at.x) << " " << num(t.at.y) << ")\"";
    out << ">" << escape(t.text);
    if (!t.superscript.empty())
      out << "<tspan dy=\"" << num(-0.4 * t.size) << "\" font-size=\"" << num(0.75 * t.size) << "\">"
          << escape(t.superscript) << "</tspan>";
    out << "</text>\n";
  }
};

}  // namespace

std::string scene_svg(const Scene& scene) {
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << scene.width << "\" height=\"" << scene.height
      << "\" viewBox=\"0 0 " << scene.width << " " << scene.height
      << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  const Writer writer{out};
  for (const Element& element : scene.elements) std::visit(writer, element);
  out << "</svg>\n";
  return out.str();
}

std::string render_svg(const std::vector<Series>& series, const PlotOptions& options) {
  return scene_svg(layout_plot(series, options));
}

}  // namespace krait::plot
