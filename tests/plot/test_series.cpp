// tests/plot/test_series.cpp — turning metrics records into series: point selection, the moving
// average, and the per-file train/eval series with their labels and styles.
#include <gtest/gtest.h>

#include "tools/plot/series.h"

namespace krait::plot {
namespace {

std::vector<Record> sample_records() {
  return {{"train", {{"step", 1}, {"tokens", 100}, {"loss", 4}, {"lr", 0.1}}},
          {"train", {{"step", 2}, {"tokens", 200}}},  // its loss was "nan"
          {"train", {{"step", 3}, {"tokens", 300}, {"loss", 2}, {"lr", 0.2}}},
          {"eval", {{"step", 3}, {"tokens", 300}, {"loss", 2.5}, {"bpb", 3.5}}},
          {"other", {{"step", 3}, {"loss", 9}}}};
}

TEST(Series, SelectPointsTakesOneKindAndSkipsMissingValues) {
  const auto points = select_points(sample_records(), "train", "tokens", "loss");
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].x, 100);
  EXPECT_EQ(points[1].x, 300);
  EXPECT_EQ(points[1].y, 2);
}

TEST(Series, MovingAverageIsTrailing) {
  const auto averaged = moving_average({{0, 1}, {1, 3}, {2, 5}, {3, 7}}, 2);
  ASSERT_EQ(averaged.size(), 4u);
  EXPECT_EQ(averaged[0].y, 1);
  EXPECT_EQ(averaged[1].y, 2);
  EXPECT_EQ(averaged[2].y, 4);
  EXPECT_EQ(averaged[3].y, 6);
  EXPECT_EQ(averaged[3].x, 3);
  EXPECT_EQ(moving_average({{0, 1}, {1, 3}}, 0)[1].y, 3);  // a window of 0 counts as 1
}

TEST(Series, FileSeriesDrawsTrainThinAndEvalWithMarkers) {
  const auto series = file_series(sample_records(), "run1", "#123456", "step", "loss", 1);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].label, "run1 train");
  EXPECT_FALSE(series[0].markers);
  EXPECT_EQ(series[1].label, "run1 eval");
  EXPECT_TRUE(series[1].markers);
  EXPECT_EQ(series[1].color, "#123456");
  EXPECT_LT(series[0].line_width, series[1].line_width);
}

TEST(Series, FileSeriesAddsAMovingAverageWhenSmoothing) {
  const auto series = file_series(sample_records(), "run1", "red", "step", "loss", 5);
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[1].label, "run1 train (avg 5)");
  EXPECT_LT(series[0].opacity, 1.0);
  EXPECT_EQ(series[1].points[1].y, 3);
}

TEST(Series, FileSeriesLeavesOutKindsWithoutTheMetric) {
  const auto bpb = file_series(sample_records(), "run1", "red", "step", "bpb", 1);
  ASSERT_EQ(bpb.size(), 1u);
  EXPECT_EQ(bpb[0].label, "run1 eval");
  EXPECT_TRUE(file_series(sample_records(), "run1", "red", "step", "grad_norm", 1).empty());
}

}  // namespace
}  // namespace krait::plot
