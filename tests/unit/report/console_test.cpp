#include "sdn/report/console.h"

#include "report_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace sdn::report;
using sdn::report::testing::fixture;

using Tokens = std::vector<std::string>;

std::string printed(const Report& report) {
  std::ostringstream out;
  print_report(out, report);
  return out.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// The lines from the first one starting with `title` up to (not including)
// the next blank line; empty when no line starts with `title`.
std::vector<std::string> section(
    const std::string& text,
    const std::string& title) {
  std::vector<std::string> out;
  for (const std::string& line : lines_of(text)) {
    if (out.empty() && line.rfind(title, 0) != 0) {
      continue;
    }
    if (line.empty()) {
      break;
    }
    out.push_back(line);
  }
  return out;
}

Tokens tokens(const std::string& line) {
  Tokens out;
  std::istringstream in(line);
  for (std::string word; in >> word;) {
    out.push_back(word);
  }
  return out;
}

// The words of the first line of `lines` whose first word is `label`;
// empty when there is none.
Tokens row(const std::vector<std::string>& lines, const std::string& label) {
  for (const std::string& line : lines) {
    const Tokens words = tokens(line);
    if (!words.empty() && words[0] == label) {
      return words;
    }
  }
  return {};
}

// The first line of every section print_report can print.
const std::vector<std::string>& section_titles() {
  static const std::vector<std::string> titles = {
      "Per exit",
      "Early exit on the paper's grid",
      "Budget table",
      "Wasteful overthinking",
      "Destructive overthinking",
      "Confusion",
      "Backdoor",
      "On triggered inputs"};
  return titles;
}

bool has_section(const std::string& text, const std::string& title) {
  return !section(text, title).empty();
}

TEST(PrintReport, HeaderNamesTraceCountsAndSelection) {
  const std::vector<std::string> lines = lines_of(printed(fixture()));
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(
      lines[0],
      "Trace runs/cifar10_vgg16_ic_only/trace_test (split test, checkpoint "
      "runs/cifar10_vgg16_ic_only/final.pt): 10000 samples, 7 exits, 10 "
      "classes");
  EXPECT_EQ(
      lines[1],
      "Thresholds selected on: val; samples no IC takes answered by: "
      "most-confident");
  EXPECT_EQ(lines[2], "");
}

TEST(PrintReport, OneExitInMemoryReportPrintsOnlyHeaderAndExitTable) {
  Report report;
  report.trace.split = "test";
  report.trace.num_samples = 4;
  report.trace.num_exits = 1;
  report.trace.num_classes = 2;
  report.selection = "test";
  report.no_exit_rule = "final";
  report.exit_cost = {1.0};
  report.exit_accuracy = {75.0};
  report.exit_top5 = {100.0};
  EXPECT_EQ(
      printed(report),
      "Trace (in memory) (split test, checkpoint ?): 4 samples, 1 exits, 2 "
      "classes\n"
      "Thresholds selected on: test; samples no IC takes answered by: final\n"
      "\n"
      "Per exit (cost relative to the CNN; accuracy %)\n"
      "exit       cost   exact   top-1   top-5\n"
      "final     1.000       -   75.00  100.00\n"
      "\n");
}

TEST(PrintReport, PerExitRowsHoldEachExitsCostAndAccuracy) {
  const std::string text = printed(fixture());
  const std::vector<std::string> exits = section(text, "Per exit");
  ASSERT_EQ(exits.size(), 2u + 7u) << text;
  EXPECT_EQ(
      tokens(exits[1]), (Tokens{"exit", "cost", "exact", "top-1", "top-5"}));
  // Aligned columns: exit name left, figures right in 8 characters.
  EXPECT_EQ(exits[2], "IC1       0.148   0.146   42.10   84.70");
  const std::vector<Tokens> expected = {
      {"IC1", "0.148", "0.146", "42.10", "84.70"},
      {"IC2", "0.301", "0.297", "61.50", "94.20"},
      {"IC3", "0.452", "0.446", "78.90", "98.10"},
      {"IC4", "0.605", "0.597", "88.20", "99.30"},
      {"IC5", "0.757", "0.748", "91.60", "99.60"},
      {"IC6", "0.902", "0.893", "92.80", "99.70"},
      {"final", "1.004", "1.003", "93.10", "99.80"}};
  for (size_t e = 0; e < expected.size(); ++e) {
    EXPECT_EQ(tokens(exits[2 + e]), expected[e]) << "exit " << e;
  }
  // The last exit is the final one, not a seventh IC.
  EXPECT_TRUE(row(exits, "IC7").empty());
}

TEST(PrintReport, PerExitFiguresMissingFromTheReportShowDashes) {
  Report report = fixture();
  report.exit_cost_exact.clear();
  report.exit_top5.resize(2);
  const std::vector<std::string> exits = section(printed(report), "Per exit");
  EXPECT_EQ(row(exits, "IC1"), (Tokens{"IC1", "0.148", "-", "42.10", "84.70"}));
  EXPECT_EQ(row(exits, "IC3"), (Tokens{"IC3", "0.452", "-", "78.90", "-"}));
  EXPECT_EQ(row(exits, "final"), (Tokens{"final", "1.004", "-", "93.10", "-"}));
}

TEST(PrintReport, SweepListsPaperGridThresholdsWithExitSharesInPercent) {
  const std::string text = printed(fixture());
  const std::vector<std::string> sweep =
      section(text, "Early exit on the paper's grid");
  // Title, header, the fixture's 11 paper-grid thresholds.
  ASSERT_EQ(sweep.size(), 2u + 11u) << text;
  // One column per IC; the last exit's column counts samples no IC took.
  EXPECT_EQ(
      tokens(sweep[1]),
      (Tokens{
          "q",
          "acc",
          "%",
          "cost",
          "IC1",
          "IC2",
          "IC3",
          "IC4",
          "IC5",
          "IC6",
          "none"}));
  EXPECT_EQ(
      row(sweep, "0.600"),
      (Tokens{
          "0.600",
          "81.74",
          "0.482",
          "14.0",
          "22.1",
          "23.9",
          "19.6",
          "12.4",
          "5.8",
          "2.2"}));
  EXPECT_EQ(
      row(sweep, "0.999"),
      (Tokens{
          "0.999",
          "93.14",
          "0.979",
          "0.4",
          "0.7",
          "1.0",
          "1.3",
          "1.6",
          "1.9",
          "93.2"}));
}

TEST(PrintReport, SweepSkipsThresholdsOffThePaperGrid) {
  Report report = fixture();
  (*report.sweep)[4].paper_grid = false; // q = 0.6
  const std::vector<std::string> sweep =
      section(printed(report), "Early exit on the paper's grid");
  EXPECT_EQ(sweep.size(), 2u + 10u);
  EXPECT_TRUE(row(sweep, "0.600").empty());
  EXPECT_FALSE(row(sweep, "0.700").empty());
}

TEST(PrintReport, BudgetTableColumnsFollowThePapersOrder) {
  const std::string text = printed(fixture());
  const std::vector<std::string> budgets = section(text, "Budget table");
  ASSERT_EQ(budgets.size(), 5u) << text;
  EXPECT_EQ(
      budgets[0],
      "Budget table (thresholds picked on val, figures on the report trace)");
  EXPECT_EQ(
      tokens(budgets[1]), (Tokens{"N.", "<=25%", "<=50%", "<=75%", "Max"}));
  // N. is the CNN (cost 1, no threshold); then <=25 %, <=50 %, <=75 %, max.
  EXPECT_EQ(
      tokens(budgets[2]),
      (Tokens{"acc", "%", "93.40", "54.74", "81.74", "89.60", "93.17"}));
  EXPECT_EQ(
      tokens(budgets[3]),
      (Tokens{"cost", "1.000", "0.218", "0.482", "0.662", "0.928"}));
  EXPECT_EQ(
      tokens(budgets[4]), (Tokens{"q", "-", "0.25", "0.6", "0.8", "0.99"}));
}

TEST(PrintReport, BudgetWithoutAFittingThresholdOrCnnShowsDashes) {
  Report report = fixture();
  report.budgets->three_quarters.reset();
  report.cnn_accuracy.reset();
  const std::vector<std::string> budgets =
      section(printed(report), "Budget table");
  EXPECT_EQ(
      row(budgets, "acc"),
      (Tokens{"acc", "%", "-", "54.74", "81.74", "-", "93.17"}));
  EXPECT_EQ(
      row(budgets, "cost"),
      (Tokens{"cost", "-", "0.218", "0.482", "-", "0.928"}));
  EXPECT_EQ(row(budgets, "q"), (Tokens{"q", "-", "0.25", "0.6", "-", "0.99"}));
}

TEST(PrintReport, WastefulOverthinkingRowsPerExitAndOracleCost) {
  const std::string text = printed(fixture());
  const std::vector<std::string> wasteful =
      section(text, "Wasteful overthinking");
  // Title, header, 7 exits, oracle line.
  ASSERT_EQ(wasteful.size(), 2u + 7u + 1u) << text;
  EXPECT_EQ(wasteful[0], "Wasteful overthinking (samples right)");
  EXPECT_EQ(
      tokens(wasteful[1]), (Tokens{"exit", "correct", "cumul.", "first"}));
  EXPECT_EQ(row(wasteful, "IC1"), (Tokens{"IC1", "4210", "4210", "4210"}));
  EXPECT_EQ(row(wasteful, "IC2"), (Tokens{"IC2", "6150", "6500", "2290"}));
  EXPECT_EQ(row(wasteful, "final"), (Tokens{"final", "9310", "9653", "53"}));
  EXPECT_TRUE(row(wasteful, "IC7").empty());
  EXPECT_EQ(
      wasteful.back(),
      "Oracle cost: nominal 0.412, measured 0.398; some IC right on 96.0 % "
      "of samples");
}

TEST(PrintReport, UndefinedNominalOracleCostShowsADash) {
  Report report = fixture();
  report.overthinking->wasteful.oracle_cost_nominal.reset();
  const std::vector<std::string> wasteful =
      section(printed(report), "Wasteful overthinking");
  ASSERT_FALSE(wasteful.empty());
  EXPECT_EQ(
      wasteful.back().rfind("Oracle cost: nominal -, measured 0.398", 0), 0u)
      << wasteful.back();
}

TEST(PrintReport, DestructiveOverthinkingCountsRescuedErrorsPerIc) {
  const std::string text = printed(fixture());
  const std::vector<std::string> destructive =
      section(text, "Destructive overthinking");
  // Title, header, one row per IC (no final exit).
  ASSERT_EQ(destructive.size(), 2u + 6u) << text;
  EXPECT_EQ(
      destructive[0],
      "Destructive overthinking: 343 of 690 final-exit errors are right at "
      "some IC (rate 0.497)");
  EXPECT_EQ(
      tokens(destructive[1]),
      (Tokens{"exit", "count", "conf", "conf(all", "right)"}));
  EXPECT_EQ(row(destructive, "IC1"), (Tokens{"IC1", "121", "0.410", "0.620"}));
  EXPECT_EQ(row(destructive, "IC6"), (Tokens{"IC6", "331", "0.760", "0.870"}));
  EXPECT_TRUE(row(destructive, "final").empty());
}

TEST(PrintReport, UndefinedDestructiveFiguresShowDashes) {
  Report report = fixture();
  Destructive& d = report.overthinking->destructive;
  d.rate.reset();
  d.per_exit[1].mean_confidence.reset();
  const std::vector<std::string> destructive =
      section(printed(report), "Destructive overthinking");
  ASSERT_FALSE(destructive.empty());
  EXPECT_EQ(
      destructive[0],
      "Destructive overthinking: 343 of 690 final-exit errors are right at "
      "some IC (rate -)");
  EXPECT_EQ(row(destructive, "IC2"), (Tokens{"IC2", "198", "-", "0.670"}));
}

TEST(PrintReport, ConfusionComparesWithTheConfidenceBaseline) {
  const std::string text = printed(fixture());
  const std::vector<std::string> confusion = section(text, "Confusion");
  ASSERT_EQ(confusion.size(), 5u) << text;
  EXPECT_EQ(
      confusion[0],
      "Confusion (normalised with the train trace's statistics) vs "
      "confidence (cnn)");
  EXPECT_EQ(tokens(confusion[1]), (Tokens{"correct", "wrong", "AUROC", "FNR"}));
  EXPECT_EQ(
      row(confusion, "confusion"),
      (Tokens{"confusion", "-0.290", "0.710", "0.843", "0.210"}));
  EXPECT_EQ(
      row(confusion, "confidence"),
      (Tokens{"confidence", "0.930", "0.710", "0.812", "0.290"}));
  EXPECT_EQ(
      confusion[4],
      "Correct samples above the wrong mean: 1287; wrong samples below the "
      "correct mean: 112");
}

TEST(PrintReport, BackdoorRowsPerExitAndTriggeredDestructiveOverthinking) {
  const std::string text = printed(fixture());
  const std::vector<std::string> backdoor = section(text, "Backdoor");
  // Title, header, 7 exits, then the triggered destructive block (title,
  // header, 6 ICs).
  ASSERT_EQ(backdoor.size(), 2u + 7u + 2u + 6u) << text;
  EXPECT_EQ(
      backdoor[0],
      "Backdoor (target class 5, 9000 triggered samples of other classes)");
  EXPECT_EQ(
      tokens(backdoor[1]),
      (Tokens{"exit", "attack", "%", "clean", "%", "trig.", "%"}));
  EXPECT_EQ(row(backdoor, "IC1"), (Tokens{"IC1", "12.40", "41.80", "40.20"}));
  EXPECT_EQ(row(backdoor, "IC4"), (Tokens{"IC4", "48.90", "87.60", "45.00"}));
  EXPECT_EQ(
      row(backdoor, "final"), (Tokens{"final", "99.20", "92.70", "0.80"}));
  const std::vector<std::string> triggered =
      section(text, "On triggered inputs");
  ASSERT_EQ(triggered.size(), 2u + 6u) << text;
  EXPECT_EQ(
      triggered[0],
      "On triggered inputs: 5549 of 8950 final-exit errors are right at some "
      "IC (rate 0.620)");
  EXPECT_EQ(row(triggered, "IC1"), (Tokens{"IC1", "5120", "0.520", "0.620"}));
  EXPECT_EQ(row(triggered, "IC5"), (Tokens{"IC5", "260", "0.700", "0.800"}));
}

TEST(PrintReport, UndefinedOrMissingBackdoorFiguresShowDashes) {
  Report report = fixture();
  report.backdoor->attack_success[0].reset();
  report.backdoor->clean_accuracy.resize(3);
  const std::vector<std::string> backdoor =
      section(printed(report), "Backdoor");
  EXPECT_EQ(row(backdoor, "IC1"), (Tokens{"IC1", "-", "41.80", "40.20"}));
  EXPECT_EQ(row(backdoor, "IC4"), (Tokens{"IC4", "48.90", "-", "45.00"}));
}

TEST(PrintReport, FullReportPrintsEverySectionInOrder) {
  const std::string text = printed(fixture());
  size_t previous = 0;
  for (const std::string& title : section_titles()) {
    const size_t at = text.find("\n" + title);
    ASSERT_NE(at, std::string::npos) << title;
    EXPECT_GT(at, previous) << title;
    previous = at;
  }
}

TEST(PrintReport, SkipsEachSectionTheReportLacks) {
  struct Case {
    std::function<void(Report&)> drop;
    std::vector<std::string> gone;
  };
  const std::vector<Case> cases = {
      {[](Report& r) { r.sweep.reset(); }, {"Early exit on the paper's grid"}},
      {[](Report& r) { r.budgets.reset(); }, {"Budget table"}},
      {[](Report& r) { r.overthinking.reset(); },
       {"Wasteful overthinking", "Destructive overthinking"}},
      {[](Report& r) { r.confusion.reset(); }, {"Confusion"}},
      {[](Report& r) { r.backdoor.reset(); },
       {"Backdoor", "On triggered inputs"}}};
  for (const Case& c : cases) {
    Report report = fixture();
    c.drop(report);
    const std::string text = printed(report);
    for (const std::string& title : section_titles()) {
      const bool dropped =
          std::find(c.gone.begin(), c.gone.end(), title) != c.gone.end();
      EXPECT_EQ(has_section(text, title), !dropped)
          << "dropping " << c.gone[0] << ", section " << title;
    }
  }
}

TEST(PrintReport, ExitPoliciesSideBySideInRegistryOrder) {
  Report report = fixture();
  PolicyResult entropy;
  entropy.budgets.half = PolicyBudget{0.3, 81.25, 0.4512};
  entropy.budgets.three_quarters = PolicyBudget{0.6, 90.5, 0.7};
  PolicyResult ensemble = entropy;
  ensemble.fitted_on = "train";
  report.policies.emplace();
  report.policies->emplace("ensemble", ensemble);
  report.policies->emplace("entropy", entropy);
  const auto lines = section(printed(report), "Exit policies");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(
      tokens(lines[1]),
      (Tokens{"policy", "fitted", "on", "<=25%", "<=50%", "<=75%"}));
  // entropy is registered before ensemble.
  EXPECT_EQ(
      tokens(lines[2]),
      (Tokens{
          "entropy", "-", "-", "81.25", "/", "0.451", "90.50", "/", "0.700"}));
  EXPECT_EQ(tokens(lines[3])[0], "ensemble");
  EXPECT_EQ(tokens(lines[3])[1], "train");
  // Without policies, no such section.
  report.policies.reset();
  EXPECT_TRUE(section(printed(report), "Exit policies").empty());
}

} // namespace
