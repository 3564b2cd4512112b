// tests/plot/test_raster.cpp — the raster renderer: colours, anti-aliased and dashed lines where
// expected, filled circles, every printable character inside its glyph cell, and a plot's PNG.
#include <gtest/gtest.h>

#include "tests/support/error_text.h"
#include "tools/plot/font.h"
#include "tools/plot/png.h"
#include "tools/plot/raster.h"

namespace krait::plot {
namespace {

const Rgb kWhite{255, 255, 255};

Image draw(const std::vector<Element>& elements, int scale = 1, int width = 100, int height = 60) {
  return rasterize(Scene{width, height, elements}, scale);
}

TEST(Raster, ParsesColours) {
  EXPECT_EQ(parse_color("#1f77b4"), (Rgb{0x1f, 0x77, 0xb4}));
  EXPECT_EQ(parse_color("#fA0"), (Rgb{0xff, 0xaa, 0x00}));
  EXPECT_EQ(parse_color("red"), (Rgb{255, 0, 0}));
  EXPECT_TRUE(krait::testing::mentions(krait::testing::error_text([] { parse_color("rgb(1,2,3)"); }),
                                       "plot colour 'rgb(1,2,3)'"));
}

TEST(Raster, DrawsALineWhereExpected) {
  const Image image = draw({Line{{10, 20.5}, {90, 20.5}, {"black", 1}}});
  for (int x = 12; x <= 88; ++x) {
    EXPECT_EQ(image.at(x, 20), (Rgb{0, 0, 0})) << x;  // the row the line runs through
    EXPECT_EQ(image.at(x, 18), kWhite) << x;
    EXPECT_EQ(image.at(x, 23), kWhite) << x;
  }
  EXPECT_EQ(image.at(5, 20), kWhite);
  EXPECT_EQ(image.at(95, 20), kWhite);
}

TEST(Raster, AntiAliasesSlantedLines) {
  const Image image = draw({Line{{5, 5}, {95, 40}, {"black", 1.5}}});
  int partial = 0, full = 0;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const int v = image.at(x, y).r;
      partial += v > 0 && v < 255;
      full += v == 0;
    }
  EXPECT_GT(partial, 90);
  EXPECT_GT(full, 0);
  const double y_mid = 5 + 35 * (50.0 - 5) / 90;  // the line's height at x = 50
  EXPECT_LT(image.at(50, static_cast<int>(y_mid)).r, 128);
  EXPECT_EQ(image.at(50, static_cast<int>(y_mid) + 4), kWhite);
}

TEST(Raster, DashedLinesLeaveGaps) {
  const Image image = draw({Line{{0, 10.5}, {99, 10.5}, {"black", 1, 1, true}}});
  int ink = 0, gaps = 0;
  for (int x = 0; x < 99; ++x) (image.at(x, 10).r < 128 ? ink : gaps)++;
  const double on = kDashOn / (kDashOn + kDashOff);
  EXPECT_NEAR(ink / 99.0, on, 0.12);
  EXPECT_GT(gaps, 20);
}

TEST(Raster, FillsCirclesWithAnOutline) {
  const Image image = draw({Circle{{50, 30}, 5, "#0000ff", "white"}}, 2);
  EXPECT_EQ(image.at(100, 60), (Rgb{0, 0, 255}));
  EXPECT_EQ(image.at(107, 60), (Rgb{0, 0, 255}));
  EXPECT_EQ(image.at(100, 75), kWhite);
  EXPECT_EQ(image.at(125, 60), kWhite);
}

TEST(Raster, FontDrawsEveryPrintableCharacterInsideItsCell) {
  for (int scale : {1, 2, 3}) {
    for (char c = ' '; c <= '~'; ++c) {
      Image image(40, 40, kWhite);
      const int x0 = 10, baseline = 25;
      EXPECT_EQ(draw_text(image, x0, baseline, std::string(1, c), scale, {0, 0, 0}), kGlyphAdvance * scale);
      int ink = 0;
      for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x) {
          if (image.at(x, y) == kWhite) continue;
          ++ink;
          EXPECT_TRUE(x >= x0 && x < x0 + kGlyphWidth * scale && y >= baseline - kGlyphBaseline * scale &&
                      y < baseline + (kGlyphHeight - kGlyphBaseline) * scale)
              << "'" << c << "' at scale " << scale << " drew (" << x << ", " << y << ")";
        }
      EXPECT_EQ(ink > 0, c != ' ') << "'" << c << "'";
    }
  }
  EXPECT_EQ(glyph_pixel('\x01', 2, 0), glyph_pixel('?', 2, 0));  // unprintable shows as '?'
}

TEST(Raster, VerticalTextReadsUpwards) {
  Image image(40, 60, kWhite);
  draw_text(image, 20, 50, "ll", 1, {0, 0, 0}, true);
  int top = image.height, bottom = 0;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      if (image.at(x, y) != kWhite) top = std::min(top, y), bottom = std::max(bottom, y);
  EXPECT_EQ(bottom, 50 - 1);  // 'l' starts in its glyph's column 1, one pixel up from the anchor
  EXPECT_EQ(top, 50 - kGlyphAdvance - 3);  // and ends in column 3 of the second character
}

TEST(Raster, PlotPngDrawsTheSceneAtItsScale) {
  Series points{"runs", "#d62728", {{1e15, 3.0}, {1e17, 2.5}, {1e19, 2.2}}};
  points.line = false;
  Series law{"fit", "#d62728", {{1e15, 3.05}, {1e19, 2.15}}};
  law.dashed = true;
  PlotOptions options{"Loss vs compute", "FLOPs", "loss", true, 600, 400, true};
  const Scene scene = layout_plot({points, law}, options);
  const Image image = rasterize(scene, 2);
  EXPECT_EQ(image.width, 1200);
  EXPECT_EQ(image.height, 800);
  int markers = 0;
  for (const Element& e : scene.elements)
    if (const auto* c = std::get_if<Circle>(&e); c && c->fill == "#d62728") {
      ++markers;
      EXPECT_EQ(image.at(static_cast<int>(c->center.x * 2), static_cast<int>(c->center.y * 2)), (Rgb{0xd6, 0x27, 0x28}));
    }
  EXPECT_EQ(markers, 3 + 1);  // the points and the legend entry
  const std::string png = render_png({points, law}, options);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_GT(png.size(), 5000u);
  EXPECT_LT(png.size(), 1200u * 800u * 3u / 10u);  // compressed
}

}  // namespace
}  // namespace krait::plot
