// tools/plot/font.h — the raster renderer's built-in bitmap font: 5x8-pixel glyphs (caps 7 pixels
// tall, descenders in the 8th row) for the printable ASCII characters, in a 6-pixel advance.
#pragma once

#include <cstdint>

namespace krait::plot {

inline constexpr int kGlyphWidth = 5;     // pixels of a glyph's columns
inline constexpr int kGlyphHeight = 8;    // rows 0..6 above the baseline, row 7 below it
inline constexpr int kGlyphAdvance = 6;   // pixels from one character to the next
inline constexpr int kGlyphBaseline = 7;  // rows above the baseline

// Whether the glyph of `c` has its pixel at column x (0..4), row y (0..7) set, row 0 being the top.
// Characters outside ' '..'~' show as '?'.
bool glyph_pixel(char c, int x, int y);

}  // namespace krait::plot
