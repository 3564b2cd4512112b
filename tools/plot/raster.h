// tools/plot/raster.h — Image (RGB8 pixels) and the raster renderer of a Scene: anti-aliased lines
// and polylines (solid or dashed, by distance to the segment), filled circles, rectangles and text
// in the built-in bitmap font (font.h), drawn at an integer scale; render_png draws a plot as a PNG.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/plot/scene.h"

namespace krait::plot {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

// "#rrggbb", "#rgb" or one of the names black, white, red, green, blue, gray/grey, orange, purple,
// brown; anything else throws krait::Error naming the colour.
Rgb parse_color(const std::string& color);

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // row by row, top first, 3 bytes a pixel

  Image(int width, int height, Rgb fill);
  Rgb at(int x, int y) const;
  // Mixes `color` into pixel (x, y) with weight `alpha` in [0, 1]; pixels outside are ignored.
  void blend(int x, int y, Rgb color, double alpha);
};

// Draws `text` with its baseline's start at (x, y), glyph pixels `scale` image pixels square, and
// returns its width in image pixels; `vertical` reads bottom to top, starting at (x, y).
int draw_text(Image& image, double x, double y, const std::string& text, int scale, Rgb color, bool vertical = false);

// The glyph scale for a font size (in scene pixels) at a render scale: max(1, round(size * scale / 12)),
// so 12-pixel text at scale 2 has 14-pixel capitals.
int glyph_scale(double size, int scale);

// The Scene drawn on a white image of scale * (width x height) pixels.
Image rasterize(const Scene& scene, int scale);

// encode_png(rasterize(layout_plot(series, options), scale)).
std::string render_png(const std::vector<Series>& series, const PlotOptions& options, int scale = 2);

}  // namespace krait::plot
