// tests/plot/test_svg_plot.cpp — the SVG renderer: a well-formed document with one polyline per
// series and the legend labels, and no division by zero for constant or single-point series.
#include <gtest/gtest.h>

#include <string_view>

#include "tools/plot/svg_plot.h"

namespace krait::plot {
namespace {

// Checks that every tag is closed in order, there is one root <svg>, and text holds only
// &amp; &lt; &gt; &quot; entities. Returns "" when well-formed, else what is wrong.
std::string xml_problem(const std::string& xml) {
  std::vector<std::string> open;
  int roots = 0;
  size_t pos = 0;
  if (xml.starts_with("<?xml")) pos = xml.find("?>") + 2;
  while (true) {
    const size_t lt = xml.find('<', pos);
    const std::string_view text(xml.data() + pos, (lt == std::string::npos ? xml.size() : lt) - pos);
    for (size_t amp = text.find('&'); amp != std::string_view::npos; amp = text.find('&', amp + 1)) {
      const auto rest = text.substr(amp);
      const bool entity = rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;") ||
                          rest.starts_with("&quot;");
      if (!entity) return "bare & in text";
    }
    if (lt == std::string::npos) break;
    const size_t gt = xml.find('>', lt);
    if (gt == std::string::npos) return "unterminated tag";
    const std::string tag = xml.substr(lt + 1, gt - lt - 1);
    if (tag.find('<') != std::string::npos) return "'<' inside a tag";
    if (tag.starts_with("/")) {
      if (open.empty() || open.back() != tag.substr(1)) return "unexpected </" + tag.substr(1) + ">";
      open.pop_back();
    } else {
      const std::string name = tag.substr(0, tag.find_first_of(" \n/"));
      if (open.empty() && ++roots > 1) return "more than one root element";
      if (open.empty() && name != "svg") return "root is <" + name + ">";
      if (!tag.ends_with("/")) open.push_back(name);
    }
    pos = gt + 1;
  }
  return open.empty() ? (roots == 1 ? "" : "no root element") : "unclosed <" + open.back() + ">";
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

PlotOptions options(bool log_y = false) { return {"Loss & <friends>", "step", "loss", log_y, 900, 540}; }

TEST(SvgPlot, IsWellFormedWithOnePolylinePerSeriesAndTheLegendLabels) {
  const std::vector<Series> series = {
      {"run_a train", "#1f77b4", {{0, 4}, {10, 3}, {20, 2.5}}, 1.0, 0.35, false},
      {"run_a train (avg 2)", "#1f77b4", {{0, 4}, {10, 3.5}, {20, 2.75}}, 2.0, 1.0, false},
      {"run_a eval", "#1f77b4", {{10, 3.2}, {20, 2.7}}, 1.5, 1.0, true},
      {"b<&>\"c train", "#d62728", {{0, 5}, {20, 3}}, 1.0, 1.0, false}};
  const std::string svg = render_svg(series, options());
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(count(svg, "<polyline"), series.size());
  EXPECT_EQ(count(svg, "<path"), 0u);
  EXPECT_EQ(count(svg, "<circle"), 2u + 1u);  // the eval points and the eval legend entry
  EXPECT_NE(svg.find(">run_a train<"), std::string::npos);
  EXPECT_NE(svg.find(">run_a train (avg 2)<"), std::string::npos);
  EXPECT_NE(svg.find(">run_a eval<"), std::string::npos);
  EXPECT_NE(svg.find(">b&lt;&amp;&gt;&quot;c train<"), std::string::npos);
  EXPECT_NE(svg.find(">Loss &amp; &lt;friends&gt;<"), std::string::npos);
  EXPECT_NE(svg.find(">step<"), std::string::npos);
  EXPECT_NE(svg.find(">loss<"), std::string::npos);
}

void expect_finite_and_well_formed(const std::string& svg) {
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(count(svg, "nan"), 0u) << svg;
  EXPECT_EQ(count(svg, "inf"), 0u) << svg;
}

TEST(SvgPlot, ConstantAndSinglePointSeriesDoNotDivideByZero) {
  const std::vector<Series> constant = {{"flat", "red", {{0, 2}, {5, 2}, {9, 2}}, 1.0, 1.0, false}};
  const std::vector<Series> single = {{"one", "red", {{7, 3}}, 1.0, 1.0, false}};
  const std::vector<Series> zero = {{"zero", "red", {{0, 0}}, 1.0, 1.0, true}};
  for (const auto* series : {&constant, &single, &zero}) {
    for (bool log_y : {false, true}) {
      const std::string svg = render_svg(*series, options(log_y));
      expect_finite_and_well_formed(svg);
    }
  }
  const std::string svg = render_svg(single, options());
  EXPECT_EQ(count(svg, "<polyline"), 1u);
  EXPECT_EQ(count(svg, "<circle"), 1u);  // a lone point shows as a marker
}

TEST(SvgPlot, LogScaleLeavesOutPointsAtOrBelowZero) {
  const std::vector<Series> series = {{"mixed", "red", {{0, -1}, {1, 0}, {2, 0.5}, {3, 5}}, 1.0, 1.0, false},
                                      {"negative", "blue", {{0, -1}, {1, -2}}, 1.0, 1.0, false}};
  const std::string svg = render_svg(series, options(true));
  expect_finite_and_well_formed(svg);
  EXPECT_EQ(count(svg, "<polyline"), 1u);
  EXPECT_EQ(count(svg, ">negative<"), 0u);
  EXPECT_NE(svg.find("(log scale)"), std::string::npos);
}

TEST(SvgPlot, RendersAxesWithoutSeries) {
  const std::string svg = render_svg({}, options());
  expect_finite_and_well_formed(svg);
  EXPECT_EQ(count(svg, "<polyline"), 0u);
}

}  // namespace
}  // namespace krait::plot
