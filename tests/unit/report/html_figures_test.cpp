#include "sdn/report/html_figures.h"

#include "report_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

// Inside detail, so its finite() hides the C library's.
namespace sdn::report::detail {
namespace {

using testing::check_balance;
using testing::count_of;
using testing::fixture;

constexpr double kInf = std::numeric_limits<double>::infinity();

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The <th scope="row"> cell and <td> cells of a table row, as render()
// writes them.
std::string table_row(const std::vector<std::string>& cells) {
  std::string out = "<tr><th scope=\"row\">" + cells[0] + "</th>";
  for (size_t i = 1; i < cells.size(); ++i) {
    out += "<td>" + cells[i] + "</td>";
  }
  return out + "</tr>";
}

TEST(HtmlFigures, FiniteRejectsNanAndInfinity) {
  EXPECT_TRUE(finite(0.0));
  EXPECT_TRUE(finite(-1e300));
  EXPECT_FALSE(finite(kNaN));
  EXPECT_FALSE(finite(kInf));
  EXPECT_FALSE(finite(-kInf));
}

TEST(HtmlFigures, MaxAndMinFiniteSkipMissingValues) {
  const std::vector<double> v = {2.0, kNaN, -kInf, 7.5, kInf, -3.0};
  EXPECT_EQ(max_finite(v, 100.0), 7.5);
  EXPECT_EQ(min_finite(v, -100.0), -3.0);
  // Negative-only and positive-only input: no implicit 0.
  EXPECT_EQ(max_finite({-5.0, -2.0}, 9.0), -2.0);
  EXPECT_EQ(min_finite({5.0, 2.0}, -9.0), 2.0);
}

TEST(HtmlFigures, MaxAndMinFiniteFallBackWithoutAFiniteElement) {
  EXPECT_EQ(max_finite({}, 42.0), 42.0);
  EXPECT_EQ(min_finite({}, -42.0), -42.0);
  EXPECT_EQ(max_finite({kNaN, kInf}, 1.5), 1.5);
  EXPECT_EQ(min_finite({kNaN, -kInf}, 2.5), 2.5);
}

TEST(HtmlFigures, AtIsNanPastTheEnd) {
  const std::vector<double> v = {1.0, 2.0};
  EXPECT_EQ(at(v, 0), 1.0);
  EXPECT_EQ(at(v, 1), 2.0);
  EXPECT_TRUE(std::isnan(at(v, 2)));
  EXPECT_TRUE(std::isnan(at({}, 0)));
}

TEST(HtmlFigures, CategoryAxisPutsOneTickPerName) {
  const svg::Axis axis = category_axis("exit", {"a", "b", "c"});
  EXPECT_EQ(axis.label, "exit");
  EXPECT_EQ(axis.lo, -0.5);
  EXPECT_EQ(axis.hi, 2.5);
  EXPECT_FALSE(axis.grid);
  ASSERT_EQ(axis.ticks.size(), 3u);
  EXPECT_EQ(axis.ticks[2].value, 2.0);
  EXPECT_EQ(axis.ticks[2].label, "c");
}

TEST(HtmlFigures, ExitNameCallsTheLastExitFinal) {
  EXPECT_EQ(exit_name(0, 7), "IC1");
  EXPECT_EQ(exit_name(5, 7), "IC6");
  EXPECT_EQ(exit_name(6, 7), "Final");
  EXPECT_EQ(exit_name(0, 1), "Final");
}

TEST(HtmlFigures, ExitLabelsAddTheCostAsAPercentage) {
  const Report report = fixture(); // exit_cost .148, .301, ..., 1.004
  const std::vector<std::string> labels = exit_labels(report, 7);
  ASSERT_EQ(labels.size(), 7u);
  EXPECT_EQ(labels[0], "IC1 (15 %)");
  EXPECT_EQ(labels[1], "IC2 (30 %)");
  EXPECT_EQ(labels[2], "IC3 (45 %)");
  EXPECT_EQ(labels[6], "Final (100 %)");
}

TEST(HtmlFigures, ExitLabelsLeaveOutUnknownCosts) {
  Report report = fixture();
  report.exit_cost[1] = kNaN;
  // One exit more than the report has costs for.
  const std::vector<std::string> labels = exit_labels(report, 8);
  ASSERT_EQ(labels.size(), 8u);
  EXPECT_EQ(labels[1], "IC2");
  EXPECT_EQ(labels[6], "IC7 (100 %)");
  EXPECT_EQ(labels[7], "Final");
  EXPECT_TRUE(exit_labels(report, 0).empty());
}

TEST(HtmlFigures, ExitCountTakesTheLargestSource) {
  EXPECT_EQ(exit_count(Report{}), 0);
  EXPECT_EQ(exit_count(fixture()), 7);
  Report report;
  report.exit_cost = {0.5, 1.0};
  report.exit_accuracy = {10.0, 20.0, 30.0};
  EXPECT_EQ(exit_count(report), 3);
  report.trace.num_exits = 5;
  EXPECT_EQ(exit_count(report), 5);
  // An absurd num_exits is not trusted.
  report.trace.num_exits = 1000000;
  EXPECT_EQ(exit_count(report), 3);
}

TEST(HtmlFigures, PercentShowsOneDecimalAndDashForMissing) {
  EXPECT_EQ(percent(93.4), "93.4 %");
  EXPECT_EQ(percent(81.74), "81.7 %");
  EXPECT_EQ(percent(100.0), "100.0 %");
  EXPECT_EQ(percent(kNaN), "-");
  EXPECT_EQ(percent(kInf), "-");
}

TEST(HtmlFigures, FractionPercentScalesByOneHundred) {
  EXPECT_EQ(fraction_percent(0.4971), "49.7 %");
  EXPECT_EQ(fraction_percent(1.0), "100.0 %");
  EXPECT_EQ(fraction_percent(0.0), "0.0 %");
  EXPECT_EQ(fraction_percent(kNaN), "-");
}

TEST(HtmlFigures, CostShowsThreeDecimals) {
  EXPECT_EQ(cost(0.4822), "0.482");
  EXPECT_EQ(cost(1.0), "1.000");
  EXPECT_EQ(cost(0.0), "0.000");
  EXPECT_EQ(cost(kNaN), "-");
}

TEST(HtmlFigures, PlainShowsIntegersWithoutDecimals) {
  EXPECT_EQ(plain(12.0), "12");
  EXPECT_EQ(plain(10000.0), "10000");
  EXPECT_EQ(plain(-3.0), "-3");
  EXPECT_EQ(plain(0.5), "0.500");
  EXPECT_EQ(plain(2.0 / 3.0), "0.667");
  EXPECT_EQ(plain(kNaN), "-");
  EXPECT_EQ(plain(kInf), "-");
}

TEST(HtmlFigures, FiniteOrNanKeepsOnlyFiniteNumbers) {
  EXPECT_EQ(finite_or_nan(2.5), 2.5);
  EXPECT_TRUE(std::isnan(finite_or_nan(kInf)));
  EXPECT_TRUE(std::isnan(finite_or_nan(kNaN)));
  EXPECT_EQ(finite_or_nan(std::optional<double>(-4.0)), -4.0);
  EXPECT_TRUE(std::isnan(finite_or_nan(std::optional<double>())));
  EXPECT_TRUE(std::isnan(finite_or_nan(std::optional<double>(-kInf))));
}

TEST(HtmlFigures, FiniteValueDropsUndefinedAndNonFinite) {
  EXPECT_EQ(finite_value(std::optional<double>(0.25)), 0.25);
  EXPECT_EQ(finite_value(std::nullopt), std::nullopt);
  EXPECT_EQ(finite_value(std::optional<double>(kNaN)), std::nullopt);
  EXPECT_EQ(finite_value(std::optional<double>(kInf)), std::nullopt);
}

TEST(HtmlFigures, BudgetPicksTheRequestedColumn) {
  const Report report = fixture();
  const auto half = budget(report, &Budgets::half);
  ASSERT_TRUE(half.has_value());
  EXPECT_EQ(half->threshold, 0.6);
  EXPECT_EQ(half->accuracy, 81.74);
  EXPECT_EQ(half->cost, 0.4822);
  const auto quarter = budget(report, &Budgets::quarter);
  ASSERT_TRUE(quarter.has_value());
  EXPECT_EQ(quarter->threshold, 0.25);
  EXPECT_EQ(quarter->accuracy, 54.74);
  const auto max = budget(report, &Budgets::max);
  ASSERT_TRUE(max.has_value());
  EXPECT_EQ(max->threshold, 0.99);
  EXPECT_EQ(max->cost, 0.928);
}

TEST(HtmlFigures, BudgetIsAbsentWithoutAnEntryOrAFiniteAccuracy) {
  Report report = fixture();
  report.budgets->quarter.reset();
  EXPECT_FALSE(budget(report, &Budgets::quarter).has_value());
  EXPECT_TRUE(budget(report, &Budgets::half).has_value());
  report.budgets->half->accuracy = kNaN;
  EXPECT_FALSE(budget(report, &Budgets::half).has_value());
  report.budgets.reset();
  EXPECT_FALSE(budget(report, &Budgets::max).has_value());
}

TEST(HtmlFigures, BudgetTurnsNonFiniteThresholdAndCostIntoNan) {
  Report report = fixture();
  report.budgets->max->threshold = kInf;
  report.budgets->max->cost = -kInf;
  const auto max = budget(report, &Budgets::max);
  ASSERT_TRUE(max.has_value());
  EXPECT_TRUE(std::isnan(max->threshold));
  EXPECT_TRUE(std::isnan(max->cost));
  EXPECT_EQ(max->accuracy, 93.17);
}

TEST(HtmlFigures, TableRendersEscapedRowsAndNothingWithoutRows) {
  Table table;
  table.caption = "A & B";
  table.header = {"Exit", "<x>"};
  EXPECT_EQ(table.render(), "");
  table.rows = {{"IC1", "1 < 2"}};
  const std::string html = table.render();
  EXPECT_EQ(check_balance(html), "");
  EXPECT_TRUE(contains(html, "<caption>A &amp; B</caption>"));
  EXPECT_TRUE(contains(html, "<th scope=\"col\">&lt;x&gt;</th>"));
  EXPECT_TRUE(contains(html, table_row({"IC1", "1 &lt; 2"})));
}

TEST(HtmlFigures, HeadlineCardsAreEmptyWithoutNumbers) {
  EXPECT_EQ(headline_cards(Report{}), "");
  const std::string cards = headline_cards(fixture());
  EXPECT_EQ(count_of(cards, "class=\"card\""), 5);
  EXPECT_TRUE(contains(cards, "81.7 % at 0.482"));
}

TEST(HtmlFigures, AccuracyFigureHasOneBarPerExitAndSeries) {
  const std::string html = accuracy_figure(fixture());
  EXPECT_EQ(check_balance(html), "");
  EXPECT_EQ(count_of(html, "<svg"), 1);
  // Bar tooltips: "<exit label>, <series>: <value> %".
  EXPECT_EQ(count_of(html, ", top-1: "), 7);
  EXPECT_EQ(count_of(html, ", top-5: "), 7);
  EXPECT_TRUE(contains(html, "<title>IC1 (15 %), top-1: 42.1 %</title>"));
  EXPECT_TRUE(contains(html, "<title>IC3 (45 %), top-5: 98.1 %</title>"));
  EXPECT_TRUE(contains(html, "<title>Final (100 %), top-1: 93.1 %</title>"));
  EXPECT_FALSE(contains(html, "IC7"));
  // The table: one row per exit, then the CNN.
  EXPECT_TRUE(contains(html, table_row({"IC3", "0.452", "78.9", "98.1"})));
  EXPECT_TRUE(contains(html, table_row({"Final", "1.004", "93.1", "99.8"})));
  EXPECT_TRUE(contains(html, table_row({"CNN", "1.000", "93.4", "-"})));
  EXPECT_TRUE(contains(html, "CNN 93.4 %"));
}

TEST(HtmlFigures, AccuracyFigureLeavesOutMissingSeriesAndCnn) {
  Report report = fixture();
  report.exit_top5.clear();
  report.cnn_accuracy.reset();
  const std::string html = accuracy_figure(report);
  EXPECT_EQ(check_balance(html), "");
  EXPECT_EQ(count_of(html, ", top-1: "), 7);
  EXPECT_EQ(count_of(html, ", top-5: "), 0);
  EXPECT_TRUE(contains(html, table_row({"IC1", "0.148", "42.1", "-"})));
  EXPECT_FALSE(contains(html, "<th scope=\"row\">CNN</th>"));
  EXPECT_FALSE(contains(html, "CNN top-1"));
}

TEST(HtmlFigures, AccuracyFigureIsEmptyWithoutAccuracies) {
  EXPECT_EQ(accuracy_figure(Report{}), "");
  Report report = fixture();
  report.exit_accuracy.clear();
  report.exit_top5.clear();
  EXPECT_EQ(accuracy_figure(report), "");
}

TEST(HtmlFigures, SweepFigureTablesBudgetsInThePapersOrder) {
  const std::string html = sweep_figure(fixture());
  EXPECT_EQ(check_balance(html), "");
  EXPECT_EQ(count_of(html, "<svg"), 1);
  // N. (the CNN), <= 25 %, <= 50 %, <= 75 %, Max.
  EXPECT_TRUE(contains(
      html, table_row({"Top-1 (%)", "93.4", "54.7", "81.7", "89.6", "93.2"})));
  EXPECT_TRUE(contains(
      html, table_row({"Threshold", "-", "0.25", "0.6", "0.8", "0.99"})));
  EXPECT_TRUE(contains(
      html, table_row({"Cost", "1.000", "0.218", "0.482", "0.662", "0.928"})));
  // Sweep table: threshold, accuracy, cost, share of early exits.
  EXPECT_TRUE(contains(html, table_row({"0.6", "81.7", "0.482", "97.8 %"})));
  EXPECT_TRUE(contains(html, "N.: CNN without early exit."));
  // Four budgets chosen: four ringed markers.
  EXPECT_EQ(count_of(html, "<title>budget "), 4);
}

TEST(HtmlFigures, SweepFigureFallsBackToTheFinalExitWithoutCnn) {
  Report report = fixture();
  report.cnn_accuracy.reset();
  report.budgets->quarter.reset();
  const std::string html = sweep_figure(report);
  EXPECT_TRUE(contains(
      html, table_row({"Top-1 (%)", "93.1", "-", "81.7", "89.6", "93.2"})));
  EXPECT_TRUE(contains(html, "N.: SDN final exit without early exit."));
  EXPECT_EQ(count_of(html, "<title>budget "), 3);
}

TEST(HtmlFigures, SweepFigureIsEmptyWithNothingToShow) {
  EXPECT_EQ(sweep_figure(Report{}), "");
}

TEST(HtmlFigures, DistributionFigureKeepsAtMostEightThresholds) {
  // The fixture's 11 thresholds: evenly spaced, first and last kept.
  const std::string html = distribution_figure(fixture());
  EXPECT_EQ(check_balance(html), "");
  EXPECT_EQ(count_of(html, "<th scope=\"row\">"), 8);
  EXPECT_TRUE(contains(html, "<th scope=\"row\">0.1</th>"));
  EXPECT_TRUE(contains(html, "<th scope=\"row\">0.999</th>"));
  EXPECT_FALSE(contains(html, "<th scope=\"row\">0.5</th>"));
  EXPECT_TRUE(contains(
      html,
      table_row(
          {"0.6", "14.0", "22.1", "23.9", "19.6", "12.4", "5.8", "2.2"})));
  EXPECT_TRUE(contains(html, "<th scope=\"col\">no early exit (%)</th>"));
}

TEST(HtmlFigures, DistributionFigureIsEmptyWithoutSweep) {
  Report report = fixture();
  report.sweep.reset();
  EXPECT_EQ(distribution_figure(report), "");
  report.sweep = std::vector<SweepRow>(3);
  EXPECT_EQ(distribution_figure(report), "");
}

TEST(HtmlFigures, OverthinkingFigureTablesBothKinds) {
  const std::string html = overthinking_figure(fixture());
  EXPECT_EQ(check_balance(html), "");
  EXPECT_TRUE(contains(html, "<strong>49.7 %</strong>"));
  EXPECT_TRUE(contains(html, table_row({"Final", "9310", "9653", "53"})));
  EXPECT_TRUE(contains(html, table_row({"IC6", "331", "0.760", "0.870"})));
  EXPECT_TRUE(contains(html, table_row({"Cost, nominal IC costs", "0.412"})));
  // Wasteful bars for 7 exits, destructive bars for 6 ICs.
  EXPECT_EQ(count_of(html, ", first correct here (wasteful): "), 7);
  EXPECT_EQ(count_of(html, ", correct here, final wrong (destructive): "), 6);
}

TEST(HtmlFigures, BackdoorFigureHasBothSeriesPerExit) {
  const std::string html = backdoor_figure(fixture());
  EXPECT_EQ(check_balance(html), "");
  EXPECT_EQ(count_of(html, ", clean accuracy: "), 7);
  EXPECT_EQ(count_of(html, ", attack success (triggered inputs): "), 7);
  EXPECT_TRUE(contains(
      html, "<title>IC1 (15 %), attack success (triggered inputs): 12.4 %"));
  EXPECT_TRUE(contains(html, table_row({"IC1", "41.8", "12.4"})));
  EXPECT_TRUE(contains(html, table_row({"Final", "92.7", "99.2"})));
  EXPECT_TRUE(contains(html, "Target class 5"));
  EXPECT_TRUE(contains(html, "(5549 of 8950)"));
}

TEST(HtmlFigures, FiguresOfMissingSectionsAreEmpty) {
  Report report = fixture();
  report.overthinking.reset();
  report.confusion.reset();
  report.backdoor.reset();
  EXPECT_EQ(overthinking_figure(report), "");
  EXPECT_EQ(confusion_figure(report), "");
  EXPECT_EQ(backdoor_figure(report), "");
  // The fixture itself has all three.
  EXPECT_NE(overthinking_figure(fixture()), "");
  EXPECT_NE(confusion_figure(fixture()), "");
  EXPECT_NE(backdoor_figure(fixture()), "");
}

} // namespace
} // namespace sdn::report::detail
