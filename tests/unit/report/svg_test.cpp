#include "sdn/report/svg.h"
#include "sdn/util/error.h"

#include "report_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace svg = sdn::report::svg;
using sdn::report::testing::check_balance;
using sdn::report::testing::count_of;

TEST(SvgTicks, NiceStepsCoverTheRange) {
  EXPECT_EQ(
      svg::nice_ticks(0, 100), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  const std::vector<double> unit = svg::nice_ticks(0, 1);
  ASSERT_EQ(unit.size(), 6u);
  EXPECT_DOUBLE_EQ(unit[1], 0.2);
  EXPECT_DOUBLE_EQ(unit.back(), 1.0);
  // Ticks stay inside an awkward range and use a 1/2/2.5/5 x 10^k step.
  const std::vector<double> odd = svg::nice_ticks(-1.37, 3.42);
  ASSERT_GE(odd.size(), 4u);
  EXPECT_GE(odd.front(), -1.37);
  EXPECT_LE(odd.back(), 3.42);
  EXPECT_DOUBLE_EQ(odd[1] - odd[0], 1.0);
  EXPECT_DOUBLE_EQ(svg::nice_step(0, 0.9), 0.2);
  EXPECT_DOUBLE_EQ(svg::nice_step(0, 12000), 2500);
  EXPECT_EQ(svg::nice_ticks(3, 3), (std::vector<double>{3}));
  // Zero prints as 0, not a rounding residue like 5.5e-17.
  for (double v : svg::nice_ticks(-0.3, 0.3)) {
    EXPECT_TRUE(v == 0.0 || std::abs(v) >= 0.1) << v;
  }
}

TEST(SvgTicks, BadRangesThrow) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(svg::nice_ticks(nan, 1), sdn::Error);
  EXPECT_THROW(svg::nice_ticks(2, 1), sdn::Error);
  EXPECT_THROW(svg::nice_ticks(0, 1, /*target=*/1), sdn::Error);
}

TEST(SvgTicks, NiceRangeAndDecimals) {
  EXPECT_EQ(svg::nice_range(0.13, 0.97), std::make_pair(0.0, 1.0));
  const auto [lo, hi] = svg::nice_range(41.2, 93.7);
  EXPECT_LE(lo, 41.2);
  EXPECT_GE(hi, 93.7);
  EXPECT_EQ(std::fmod(lo, 10.0), 0.0);
  const auto flat = svg::nice_range(5, 5);
  EXPECT_LT(flat.first, 5);
  EXPECT_GT(flat.second, 5);
  EXPECT_EQ(svg::decimals_for_step(0.25), 2);
  EXPECT_EQ(svg::decimals_for_step(0.2), 1);
  EXPECT_EQ(svg::decimals_for_step(5), 0);
}

TEST(SvgScale, MapsLinearlyAndInverts) {
  const svg::Scale y{0, 100, 300, 20};
  EXPECT_DOUBLE_EQ(y(0), 300);
  EXPECT_DOUBLE_EQ(y(100), 20);
  EXPECT_DOUBLE_EQ(y(50), 160);
  EXPECT_DOUBLE_EQ(y(150), -120);
  const svg::Scale flat{1, 1, 0, 10};
  EXPECT_DOUBLE_EQ(flat(7), 5);
}

TEST(SvgText, EscapeAndNumbers) {
  EXPECT_EQ(
      svg::escape("<a href=\"x\">Tom & 'Jerry'</a>"),
      "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
  EXPECT_EQ(svg::fixed(93.44, 1), "93.4");
  EXPECT_EQ(svg::fixed(0.1478, 3), "0.148");
  EXPECT_EQ(svg::fixed(-0.0001, 1), "0.0");
  EXPECT_EQ(svg::fixed(std::numeric_limits<double>::infinity(), 1), "-");
  EXPECT_EQ(svg::trimmed(0.5, 3), "0.5");
  EXPECT_EQ(svg::trimmed(0.999, 3), "0.999");
  EXPECT_EQ(svg::trimmed(12.0, 3), "12");
}

TEST(SvgColors, PalettesAreStable) {
  EXPECT_EQ(svg::categorical_color(0), "#0072B2");
  EXPECT_EQ(svg::categorical_color(6), svg::categorical_color(0));
  EXPECT_EQ(svg::categorical_color(-1), svg::categorical_color(5));
  EXPECT_EQ(svg::sequential_color(0), "#440154");
  EXPECT_EQ(svg::sequential_color(1), "#fde725");
  EXPECT_EQ(svg::sequential_color(7), "#fde725");
}

namespace {
svg::PlotOptions square_options() {
  svg::PlotOptions o;
  o.title = "t";
  o.width = 400;
  o.height = 300;
  o.x.lo = 0;
  o.x.hi = 10;
  o.y.lo = 0;
  o.y.hi = 100;
  return o;
}
} // namespace

TEST(SvgPlot, ValidatesOptions) {
  svg::PlotOptions o = square_options();
  o.width = 50;
  EXPECT_THROW(svg::Plot{o}, sdn::Error);
  o = square_options();
  o.y.hi = o.y.lo;
  try {
    svg::Plot plot(o);
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("y axis"), std::string::npos);
  }
}

TEST(SvgPlot, ScalesDataIntoThePlotArea) {
  svg::Plot plot(square_options());
  // Left/right and bottom/top of the area, inside the viewBox.
  EXPECT_GT(plot.px(0), 0);
  EXPECT_LT(plot.px(10), 400);
  EXPECT_GT(plot.py(0), plot.py(100));
  EXPECT_GT(plot.py(100), 0);
  EXPECT_LT(plot.py(0), 300);
  EXPECT_DOUBLE_EQ(plot.px(5), (plot.px(0) + plot.px(10)) / 2);
  const std::string out = plot.render();
  EXPECT_EQ(out.rfind("<svg viewBox=\"0 0 400 300\"", 0), 0u) << out;
  EXPECT_EQ(check_balance(out), "");
  // Automatic ticks 0..100 by 20 and 0..10 by 2 are labelled.
  for (const char* label : {">0<", ">20<", ">100<", ">4<", ">10<"}) {
    EXPECT_NE(out.find(label), std::string::npos) << label;
  }
}

TEST(SvgPlot, SkipsNonFiniteDataAndEscapes) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  svg::Plot plot(square_options());
  plot.line({{0, 10}, {1, 20}, {2, nan}, {3, 30}, {4, 40}}, "#000");
  plot.markers(
      {{nan, 1}, {5, 50}}, "#111", 3, svg::Marker::kDiamond, {"", "<q>"});
  plot.rect(0, 1, 0, nan, "#222");
  plot.vline(nan, "#333", "gone");
  plot.text(1, 1, "a < b & c");
  const std::string out = plot.render();
  EXPECT_EQ(check_balance(out), "");
  EXPECT_EQ(count_of(out, "<path"), 1);
  // A NaN breaks the line into two runs.
  EXPECT_EQ(count_of(out, " M"), 1);
  EXPECT_EQ(count_of(out, "<polygon"), 1);
  EXPECT_EQ(out.find("gone"), std::string::npos);
  EXPECT_NE(out.find("&lt;q&gt;"), std::string::npos);
  EXPECT_NE(out.find("a &lt; b &amp; c"), std::string::npos);
}

TEST(SvgPlot, LegendWrapsAndGrowsTheViewBox) {
  svg::Plot one(square_options());
  one.legend("a", "#000");
  svg::Plot many(square_options());
  for (int i = 0; i < 12; ++i) {
    many.legend("a long legend entry " + std::to_string(i), "#000", "line");
  }
  const auto height = [](const std::string& s) {
    const size_t at = s.find("viewBox=\"0 0 400 ") + 17;
    return std::stod(s.substr(at, s.find('"', at) - at));
  };
  EXPECT_GT(height(one.render()), 300);
  EXPECT_GT(height(many.render()), height(one.render()) + 40);
  EXPECT_EQ(check_balance(many.render()), "");
}
