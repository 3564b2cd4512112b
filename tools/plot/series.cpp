// tools/plot/series.cpp — moving_average, select_points, file_series and palette_color (see series.h).
#include "tools/plot/series.h"

#include <algorithm>
#include <array>

namespace krait::plot {

std::vector<Point> moving_average(const std::vector<Point>& points, int window) {
  window = std::max(window, 1);
  std::vector<Point> averaged;
  averaged.reserve(points.size());
  double sum = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    sum += points[i].y;
    if (i >= static_cast<size_t>(window)) sum -= points[i - window].y;
    const size_t count = std::min(i + 1, static_cast<size_t>(window));
    averaged.push_back({points[i].x, sum / static_cast<double>(count)});
  }
  return averaged;
}

std::vector<Point> select_points(const std::vector<Record>& records, const std::string& kind,
                                 const std::string& x_key, const std::string& y_key) {
  std::vector<Point> points;
  for (const Record& record : records) {
    if (record.kind != kind) continue;
    const auto x = record.values.find(x_key);
    const auto y = record.values.find(y_key);
    if (x != record.values.end() && y != record.values.end()) points.push_back({x->second, y->second});
  }
  return points;
}

std::vector<Series> file_series(const std::vector<Record>& records, const std::string& name,
                                const std::string& color, const std::string& x_key,
                                const std::string& y_key, int smooth) {
  std::vector<Series> series;
  auto train = select_points(records, "train", x_key, y_key);
  if (!train.empty()) {
    const bool smoothed = smooth > 1;
    auto averaged = smoothed ? moving_average(train, smooth) : std::vector<Point>{};
    series.push_back({name + " train", color, std::move(train), 1.0, smoothed ? 0.35 : 1.0, false});
    if (smoothed)
      series.push_back(
          {name + " train (avg " + std::to_string(smooth) + ")", color, std::move(averaged), 2.0, 1.0, false});
  }
  auto eval = select_points(records, "eval", x_key, y_key);
  if (!eval.empty()) series.push_back({name + " eval", color, std::move(eval), 1.5, 1.0, true});
  return series;
}

std::string palette_color(size_t i) {
  static constexpr std::array<const char*, 10> kPalette = {
      "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return kPalette[i % kPalette.size()];
}

}  // namespace krait::plot
