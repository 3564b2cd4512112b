// tools/plot/svg_plot.h — render_svg: draws series as an SVG line chart (layout_plot's Scene) with a
// title, axis labels, gridlines at nice ticks and a legend, optionally on log-scale axes.
#pragma once

#include <string>
#include <vector>

#include "tools/plot/scene.h"
#include "tools/plot/series.h"

namespace krait::plot {

// The Scene as a self-contained SVG document: <line>, <polyline>, <circle>, <rect> and <text>
// elements in drawing order.
std::string scene_svg(const Scene& scene);

// scene_svg(layout_plot(series, options)).
std::string render_svg(const std::vector<Series>& series, const PlotOptions& options);

}  // namespace krait::plot
