// The spread of several runs' figures against hand computation, on
// hand-made per-seed reports and claims.
#include "sdn/pipeline/aggregate.h"

#include "error_message.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

using nlohmann::json;
using sdn::pipeline::best_regime;
using sdn::pipeline::count_verdicts;
using sdn::pipeline::format_spread;
using sdn::pipeline::print_regime_tables;
using sdn::pipeline::read_spread;
using sdn::pipeline::spread;

TEST(Spread, NumbersBecomeMeanSdMinMaxOfTheRuns) {
  // Three seeds' reports: per-exit accuracy, one figure a run could not
  // compute (null), a name, a key one run lacks, lists of other lengths.
  const std::vector<json> runs = {
      json{
          {"exit_accuracy", {70.0, 80.0}},
          {"cnn_accuracy", 90.0},
          {"budget", nullptr},
          {"arch", "resnet56"},
          {"only_here", 1},
          {"sweep", {1, 2, 3}}},
      json{
          {"exit_accuracy", {72.0, 81.0}},
          {"cnn_accuracy", 91.0},
          {"budget", 0.5},
          {"arch", "resnet56"},
          {"sweep", {1, 2}}},
      json{
          {"exit_accuracy", {74.0, 85.0}},
          {"cnn_accuracy", 92.0},
          {"budget", 0.7},
          {"arch", "resnet56"},
          {"sweep", {1, 2}}}};
  const json s = spread(runs);
  // 70, 72, 74: mean 72, sample sd 2.
  EXPECT_DOUBLE_EQ(s["exit_accuracy"][0]["mean"].get<double>(), 72.0);
  EXPECT_DOUBLE_EQ(s["exit_accuracy"][0]["sd"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(s["exit_accuracy"][0]["min"].get<double>(), 70.0);
  EXPECT_DOUBLE_EQ(s["exit_accuracy"][0]["max"].get<double>(), 74.0);
  EXPECT_EQ(s["exit_accuracy"][0]["n"], 3);
  // 80, 81, 85: mean 82, sd sqrt((4 + 1 + 9) / 2) = sqrt(7).
  EXPECT_DOUBLE_EQ(s["exit_accuracy"][1]["mean"].get<double>(), 82.0);
  EXPECT_NEAR(s["exit_accuracy"][1]["sd"].get<double>(), std::sqrt(7.0), 1e-12);
  EXPECT_DOUBLE_EQ(s["cnn_accuracy"]["mean"].get<double>(), 91.0);
  // null in one run: the figure over the two that have it.
  EXPECT_EQ(s["budget"]["n"], 2);
  EXPECT_DOUBLE_EQ(s["budget"]["mean"].get<double>(), 0.6);
  EXPECT_EQ(s["arch"], "resnet56");
  EXPECT_FALSE(s.contains("only_here"));
  EXPECT_EQ(s["sweep"]["values"].size(), 3u);
  // One run: no sd; no run with the figure: nothing but n = 0.
  const json one = spread({json{{"a", 3.5}}});
  EXPECT_TRUE(one["a"]["sd"].is_null());
  const json none = spread({json{{"a", nullptr}}, json{{"a", nullptr}}});
  EXPECT_EQ(none["a"], nullptr);
  EXPECT_THROW(spread({}), sdn::Error);
}

TEST(Spread, ReadAndFormat) {
  const json s = spread({json(79.6), json(80.5), json(80.2)});
  const auto r = read_spread(s, "x");
  EXPECT_EQ(r.n, 3);
  EXPECT_NEAR(r.mean, 80.1, 1e-12);
  EXPECT_EQ(format_spread(r, 1), "80.1 +- 0.5 (79.6 - 80.5)");
  EXPECT_EQ(format_spread(read_spread(spread({json(3.25)}), "x"), 2), "3.25");
  EXPECT_EQ(
      format_spread(read_spread(json{{"mean", nullptr}, {"n", 0}}, "x"), 2),
      "-");
  EXPECT_NE(
      sdn::testing::error_message([] {
        read_spread(json(3), "budget");
      }).find("budget: expected a spread"),
      std::string::npos);
}

TEST(CountVerdicts, CountsEachClaimOverTheRuns) {
  const auto claim = [](const std::string& text,
                        const std::string& verdict,
                        const std::string& measured) {
    return json{{"claim", text}, {"verdict", verdict}, {"measured", measured}};
  };
  const std::vector<json> runs = {
      json::array(
          {claim("A", "supported", "a1"), claim("B", "not supported", "b1")}),
      json::array(
          {claim("A", "supported", "a2"), claim("B", "supported", "b2")}),
      json::array(
          {claim("A", "not supported", "a3"), claim("B", "n/a", "b3")})};
  const json c = count_verdicts(runs);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0]["claim"], "A");
  EXPECT_EQ(c[0]["supported"], 2);
  EXPECT_EQ(c[0]["runs"], 3);
  EXPECT_EQ(c[0]["measured"], json::array({"a1", "a2", "a3"}));
  EXPECT_EQ(c[1]["supported"], 1);
  EXPECT_EQ(
      c[1]["verdicts"], json::array({"not supported", "supported", "n/a"}));
  // Runs of another pipeline (other claims) are not counted together.
  std::vector<json> other = runs;
  other[1][0]["claim"] = "C";
  EXPECT_NE(
      sdn::testing::error_message([&] {
        count_verdicts(other);
      }).find("claim 1 of run 2 is 'C', run 1's is 'A'"),
      std::string::npos);
  other = runs;
  other[2].erase(1);
  EXPECT_NE(
      sdn::testing::error_message([&] {
        count_verdicts(other);
      }).find("run 3 has 1 claims, run 1 has 2"),
      std::string::npos);
}

TEST(RegimeTables, BestRegimePerFigureAndSideBySide) {
  using sdn::pipeline::parse_regime;
  const std::vector<sdn::pipeline::Regime> regimes = {
      parse_regime("ic-only"), parse_regime("sdn"), parse_regime("mixed")};
  // Two seeds per regime, made by hand: accuracy at 50 % (higher is
  // better), destructive share (lower), the 50 % cost (no direction).
  auto report = [](double acc, double cost, double destructive) {
    return json{
        {"exit_accuracy", {acc - 10, acc}},
        {"cnn_accuracy", 90.0},
        {"budgets", {{"0.5", {{"accuracy", acc}, {"cost", cost}}}}},
        {"overthinking", {{"destructive", {{"rate", destructive}}}}}};
  };
  const json reports = {
      {"ic_only", spread({report(80, 0.4, 0.5), report(82, 0.4, 0.4)})},
      {"sdn", spread({report(85, 0.3, 0.6), report(85, 0.5, 0.6)})},
      {"mixed", spread({report(86, 0.2, 0.3), report(84, 0.2, 0.5)})}};
  const auto& rows = sdn::pipeline::figure_rows();
  auto row = [&](const std::string& key) {
    for (const auto& r : rows) {
      if (r.key == key) {
        return r;
      }
    }
    ADD_FAILURE() << key;
    return rows.front();
  };
  // Means 81, 85, 85: a tie between SDN training and mixed.
  EXPECT_EQ(
      best_regime(regimes, reports, row("/budgets/0.5/accuracy")),
      "SDN training = Mixed");
  // Means 0.45, 0.6, 0.4: lower is better.
  EXPECT_EQ(
      best_regime(regimes, reports, row("/overthinking/destructive/rate")),
      "Mixed");
  EXPECT_EQ(best_regime(regimes, reports, row("/budgets/0.5/cost")), "-");
  // A figure no regime has.
  EXPECT_EQ(best_regime(regimes, reports, row("/confusion/auroc")), "-");
  EXPECT_EQ(
      sdn::pipeline::spread_cell(reports["ic_only"], "/exit_accuracy/1", 1),
      "81.0 +- 1.4 (80.0 - 82.0)");

  std::ostringstream out;
  print_regime_tables(out, regimes, reports);
  const std::string text = out.str();
  EXPECT_NE(
      text.find("| IC-only | 71.00 +- 1.41 (70.00 - 72.00) | 81.00 +- 1.41 "
                "(80.00 - 82.00) | 90.00 +- 0.00 (90.00 - 90.00) |"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find("| Figure | IC-only | SDN training | Mixed | Best (mean) |"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find("| accuracy at 50 % budget (%) | 81.00 +- 1.41 (80.00 - "
                "82.00) | 85.00 +- 0.00 (85.00 - 85.00) | 85.00 +- 1.41 "
                "(84.00 - 86.00) | SDN training = Mixed |"),
      std::string::npos)
      << text;
  // A regime without a report is an error, not an empty column.
  const auto missing = sdn::testing::error_message([&] {
    std::ostringstream ignored;
    print_regime_tables(ignored, {parse_regime("mixed+distill")}, reports);
  });
  EXPECT_NE(missing.find("no report of mixed+distill"), std::string::npos)
      << missing;
}
