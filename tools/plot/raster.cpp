// tools/plot/raster.cpp — parse_color, Image, draw_text, glyph_scale, rasterize and render_png (see
// raster.h). Strokes and discs are drawn through a coverage mask: each pixel's coverage is how far
// its centre lies inside the shape's edge (clamped to [0, 1], a one-pixel anti-aliasing ramp), the
// maximum over the shape's parts, so a polyline's joins and overlaps are painted once.
#include "tools/plot/raster.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.h"
#include "tools/plot/font.h"
#include "tools/plot/png.h"

namespace krait::plot {
namespace {

// Coverage in [0, 1] of the pixels of a rectangle of the image.
struct Mask {
  int x0 = 0, y0 = 0, width = 0, height = 0;
  std::vector<float> cover;

  // A mask over the pixels within `margin` of the points' bounding box, clipped to the image.
  Mask(const std::vector<Point>& points, double margin, const Image& image) {
    double lo_x = points[0].x, hi_x = lo_x, lo_y = points[0].y, hi_y = lo_y;
    for (const Point& p : points) lo_x = std::min(lo_x, p.x), hi_x = std::max(hi_x, p.x),
                                  lo_y = std::min(lo_y, p.y), hi_y = std::max(hi_y, p.y);
    x0 = std::clamp(static_cast<int>(std::floor(lo_x - margin)), 0, image.width);
    y0 = std::clamp(static_cast<int>(std::floor(lo_y - margin)), 0, image.height);
    width = std::clamp(static_cast<int>(std::ceil(hi_x + margin)) + 1, 0, image.width) - x0;
    height = std::clamp(static_cast<int>(std::ceil(hi_y + margin)) + 1, 0, image.height) - y0;
    width = std::max(width, 0), height = std::max(height, 0);
    cover.assign(static_cast<size_t>(width) * height, 0.0f);
  }

  // Raises the coverage of the pixels within `radius` of the segment a-b (a disc when a == b).
  void add_segment(Point a, Point b, double radius) {
    const double dx = b.x - a.x, dy = b.y - a.y, length2 = dx * dx + dy * dy;
    const int left = std::max(x0, static_cast<int>(std::floor(std::min(a.x, b.x) - radius - 1)));
    const int right = std::min(x0 + width - 1, static_cast<int>(std::ceil(std::max(a.x, b.x) + radius + 1)));
    const int top = std::max(y0, static_cast<int>(std::floor(std::min(a.y, b.y) - radius - 1)));
    const int bottom = std::min(y0 + height - 1, static_cast<int>(std::ceil(std::max(a.y, b.y) + radius + 1)));
    for (int y = top; y <= bottom; ++y) {
      for (int x = left; x <= right; ++x) {
        const double px = x + 0.5 - a.x, py = y + 0.5 - a.y;
        const double t = length2 > 0 ? std::clamp((px * dx + py * dy) / length2, 0.0, 1.0) : 0.0;
        const double distance = std::hypot(px - t * dx, py - t * dy);
        const float c = static_cast<float>(std::clamp(radius + 0.5 - distance, 0.0, 1.0));
        float& slot = cover[static_cast<size_t>(y - y0) * width + (x - x0)];
        slot = std::max(slot, c);
      }
    }
  }

  void paint(Image& image, Rgb color, double opacity) const {
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        if (const float c = cover[static_cast<size_t>(y) * width + x]; c > 0) image.blend(x0 + x, y0 + y, color, c * opacity);
  }
};

// The pieces of a polyline that a dash pattern (on, off pixels, starting with `on`) draws.
std::vector<std::pair<Point, Point>> dashes(const std::vector<Point>& points, double on, double off) {
  std::vector<std::pair<Point, Point>> pieces;
  double phase = 0;  // distance into the current on + off period
  for (size_t i = 1; i < points.size(); ++i) {
    const Point a = points[i - 1], b = points[i];
    const double length = std::hypot(b.x - a.x, b.y - a.y);
    auto at = [&](double s) { return Point{a.x + (b.x - a.x) * s / length, a.y + (b.y - a.y) * s / length}; };
    for (double s = 0; s < length;) {
      const bool drawing = phase < on;
      const double step = std::min(length - s, (drawing ? on : on + off) - phase);
      if (drawing) pieces.emplace_back(at(s), at(s + step));
      s += step;
      phase = std::fmod(phase + step, on + off);
    }
  }
  return pieces;
}

void draw_stroke(Image& image, std::vector<Point> points, const Stroke& stroke, int scale) {
  if (points.empty()) return;
  for (Point& p : points) p = {p.x * scale, p.y * scale};
  const double radius = stroke.width * scale / 2;
  Mask mask(points, radius + 2, image);
  if (stroke.dashed) {
    for (const auto& [a, b] : dashes(points, kDashOn * scale, kDashOff * scale)) mask.add_segment(a, b, radius);
  } else {
    mask.add_segment(points[0], points[0], radius);
    for (size_t i = 1; i < points.size(); ++i) mask.add_segment(points[i - 1], points[i], radius);
  }
  mask.paint(image, parse_color(stroke.color), stroke.opacity);
}

void draw_disc(Image& image, Point center, double radius, Rgb color) {
  Mask mask({center}, radius + 2, image);
  mask.add_segment(center, center, radius);
  mask.paint(image, color, 1);
}

int text_width(const std::string& text, int glyph) { return static_cast<int>(text.size()) * kGlyphAdvance * glyph; }

// Draws one element at `scale`; a struct per primitive, overloaded for std::visit.
struct Painter {
  Image& image;
  int scale;

  void operator()(const Line& l) const { draw_stroke(image, {l.from, l.to}, l.stroke, scale); }
  void operator()(const Polyline& p) const { draw_stroke(image, p.points, p.stroke, scale); }
  void operator()(const Circle& c) const {
    const Point center{c.center.x * scale, c.center.y * scale};
    draw_disc(image, center, (c.radius + 0.5) * scale, parse_color(c.outline));
    draw_disc(image, center, (c.radius - 0.5) * scale, parse_color(c.fill));
  }
  void operator()(const Rect& r) const {
    if (!r.fill.empty()) {
      const Rgb fill = parse_color(r.fill);
      for (int y = static_cast<int>(std::lround(r.top * scale)); y < std::lround(r.bottom * scale); ++y)
        for (int x = static_cast<int>(std::lround(r.left * scale)); x < std::lround(r.right * scale); ++x)
          image.blend(x, y, fill, r.fill_opacity);
    }
    if (!r.outline.empty())
      draw_stroke(image, {{r.left, r.top}, {r.right, r.top}, {r.right, r.bottom}, {r.left, r.bottom}, {r.left, r.top}},
                  {r.outline, 1}, scale);
  }
  void operator()(const Text& t) const {
    const int glyph = glyph_scale(t.size, scale), small = glyph_scale(0.75 * t.size, scale);
    const int width = text_width(t.text, glyph) + text_width(t.superscript, small);
    const int shift = t.anchor == Anchor::Start ? 0 : t.anchor == Anchor::Middle ? width / 2 : width;
    const double x = t.at.x * scale, y = t.at.y * scale;
    const Rgb color = parse_color(t.color);
    // The start of the text `along` pixels in its reading direction from the anchor, `down` below it.
    auto draw = [&](const std::string& text, int along, double down, int g) {
      if (t.vertical) return draw_text(image, x + down, y - along, text, g, color, true);
      return draw_text(image, x + along, y + down, text, g, color, false);
    };
    const int drawn = draw(t.text, -shift, 0, glyph);
    if (t.bold) draw(t.text, 1 - shift, 0, glyph);
    if (!t.superscript.empty()) draw(t.superscript, drawn - shift, -0.4 * t.size * scale, small);
  }
};

}  // namespace

Rgb parse_color(const std::string& color) {
  static const std::map<std::string, Rgb> kNames = {
      {"black", {0, 0, 0}},       {"white", {255, 255, 255}}, {"red", {255, 0, 0}},
      {"green", {0, 128, 0}},     {"blue", {0, 0, 255}},      {"gray", {128, 128, 128}},
      {"grey", {128, 128, 128}},  {"orange", {255, 165, 0}},  {"purple", {128, 0, 128}},
      {"brown", {165, 42, 42}}};
  if (const auto named = kNames.find(color); named != kNames.end()) return named->second;
  const bool hex = (color.size() == 7 || color.size() == 4) && color[0] == '#' &&
                   color.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string::npos;
  KRAIT_CHECK(hex, "plot colour '", color, "': expected #rrggbb, #rgb or a basic colour name (black, white, red, ...)");
  auto channel = [&](int i) {
    if (color.size() == 4) return static_cast<uint8_t>(std::stoi(color.substr(1 + i, 1), nullptr, 16) * 17);
    return static_cast<uint8_t>(std::stoi(color.substr(1 + 2 * i, 2), nullptr, 16));
  };
  return {channel(0), channel(1), channel(2)};
}

Image::Image(int width, int height, Rgb fill) : width(width), height(height) {
  KRAIT_CHECK(width > 0 && height > 0, "image size ", width, "x", height, ": both must be positive");
  rgb.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < rgb.size(); i += 3) rgb[i] = fill.r, rgb[i + 1] = fill.g, rgb[i + 2] = fill.b;
}

Rgb Image::at(int x, int y) const {
  const size_t i = (static_cast<size_t>(y) * width + x) * 3;
  return {rgb[i], rgb[i + 1], rgb[i + 2]};
}

void Image::blend(int x, int y, Rgb color, double alpha) {
  if (x < 0 || y < 0 || x >= width || y >= height || alpha <= 0) return;
  alpha = std::min(alpha, 1.0);
  uint8_t* p = &rgb[(static_cast<size_t>(y) * width + x) * 3];
  const uint8_t channels[3] = {color.r, color.g, color.b};
  for (int c = 0; c < 3; ++c) p[c] = static_cast<uint8_t>(std::lround(p[c] * (1 - alpha) + channels[c] * alpha));
}

int draw_text(Image& image, double x, double y, const std::string& text, int scale, Rgb color, bool vertical) {
  const int ox = static_cast<int>(std::lround(x)), oy = static_cast<int>(std::lround(y));
  for (size_t i = 0; i < text.size(); ++i)
    for (int gy = 0; gy < kGlyphHeight; ++gy)
      for (int gx = 0; gx < kGlyphWidth; ++gx) {
        if (!glyph_pixel(text[i], gx, gy)) continue;
        const int u = (static_cast<int>(i) * kGlyphAdvance + gx) * scale, v = (gy - kGlyphBaseline) * scale;
        for (int dv = 0; dv < scale; ++dv)
          for (int du = 0; du < scale; ++du) {
            if (vertical) image.blend(ox + v + dv, oy - u - du, color, 1);
            else image.blend(ox + u + du, oy + v + dv, color, 1);
          }
      }
  return text_width(text, scale);
}

int glyph_scale(double size, int scale) { return std::max(1, static_cast<int>(std::lround(size * scale / 12))); }

Image rasterize(const Scene& scene, int scale) {
  KRAIT_CHECK(scale >= 1, "raster scale ", scale, ": must be at least 1");
  Image image(scene.width * scale, scene.height * scale, {255, 255, 255});
  const Painter painter{image, scale};
  for (const Element& element : scene.elements) std::visit(painter, element);
  return image;
}

std::string render_png(const std::vector<Series>& series, const PlotOptions& options, int scale) {
  return encode_png(rasterize(layout_plot(series, options), scale));
}

}  // namespace krait::plot
