#include "sdn/report/console.h"
#include "sdn/report/report.h"
#include "sdn/util/error.h"

#include "../analysis/trace_fixtures.h"
#include "error_message.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <type_traits>

namespace {

using namespace sdn::analysis;
using namespace sdn::report;
using nlohmann::json;

ReportOptions options_for(const std::string& dir) {
  ReportOptions o;
  o.trace_dir = dir;
  return o;
}

// Trace A's sweep (see EarlyExit.ThresholdForBudget): cost .3 / acc 50 for
// q <= .4, .4875 / 50 up to .5, .5625 / 75 up to .6, then .75, .8625, 1.05
// at 75.
TEST(Report, TraceAWithoutValFallsBackToTest) {
  ReportInputs in;
  in.trace = fixtures::trace_a();
  const json r = build_report(in, options_for("A"));
  static_assert(
      std::is_same_v<decltype(build_report(in, options_for("A"))), Report>);
  EXPECT_EQ(r.at("selection"), "test");
  EXPECT_EQ(r.at("no_exit_rule"), "most-confident");
  ASSERT_GE(r.at("warnings").size(), 1u);
  EXPECT_NE(
      r.at("warnings")[0].get<std::string>().find("no validation trace"),
      std::string::npos);
  EXPECT_EQ(r.at("trace").at("num_exits"), 3);
  EXPECT_EQ(r.at("exit_cost"), json({0.3, 0.6, 1.05}));
  EXPECT_EQ(r.at("exit_accuracy"), json({50.0, 75.0, 50.0}));
  EXPECT_EQ(r.at("exit_top5"), json({100.0, 100.0, 100.0}));
  EXPECT_TRUE(r.at("cnn_accuracy").is_null());
  EXPECT_EQ(r.at("sweep").size(), sweep_thresholds().size());
  for (const json& p : r.at("sweep")) {
    for (const char* key : {"threshold", "accuracy", "cost", "exit_fraction"}) {
      EXPECT_TRUE(p.contains(key)) << key;
    }
  }
  const json& b = r.at("budgets");
  // Nothing costs <= .25.
  EXPECT_TRUE(b.at("0.25").is_null());
  // <= .5: 50 % at .3, lowest q.
  EXPECT_DOUBLE_EQ(b.at("0.5").at("threshold").get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(b.at("0.5").at("accuracy").get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(b.at("0.5").at("cost").get<double>(), 0.3);
  // <= .75 and Max: 75 % at .5625, q = .51.
  EXPECT_DOUBLE_EQ(b.at("0.75").at("threshold").get<double>(), 0.51);
  EXPECT_DOUBLE_EQ(b.at("0.75").at("accuracy").get<double>(), 75.0);
  EXPECT_DOUBLE_EQ(b.at("0.75").at("cost").get<double>(), 0.5625);
  EXPECT_DOUBLE_EQ(b.at("max").at("threshold").get<double>(), 0.51);

  const json& w = r.at("overthinking").at("wasteful");
  EXPECT_EQ(w.at("per_exit")[1].at("cumulative_correct"), 4);
  EXPECT_NEAR(w.at("oracle_cost_nominal").get<double>(), 0.225, 1e-12);
  EXPECT_NEAR(w.at("oracle_cost_measured").get<double>(), 0.45, 1e-12);
  EXPECT_DOUBLE_EQ(w.at("ic_correct_fraction").get<double>(), 1.0);
  const json& d = r.at("overthinking").at("destructive");
  EXPECT_DOUBLE_EQ(d.at("rate").get<double>(), 1.0);
  EXPECT_EQ(d.at("wrong_final"), 2);
  EXPECT_EQ(d.at("per_exit").size(), 2u);
  EXPECT_EQ(r.at("overthinking").at("only_first_ic_correct"), json({3}));

  const json& c = r.at("confusion");
  EXPECT_EQ(c.at("normalized_with"), "test");
  for (const char* key :
       {"mean_correct",
        "mean_wrong",
        "auroc",
        "confidence_auroc",
        "fnr_confusion",
        "fnr_confidence",
        "correct_above_wrong_mean",
        "wrong_below_correct_mean",
        "confidence"}) {
    EXPECT_TRUE(c.contains(key)) << key;
  }
  EXPECT_EQ(c.at("histogram").at("edges").size(), 26u);
  EXPECT_EQ(c.at("histogram").at("correct").size(), 25u);
  EXPECT_EQ(c.at("histogram").at("wrong").size(), 25u);
  EXPECT_FALSE(r.contains("backdoor"));
  // The whole object serialises (no NaN left in it).
  EXPECT_EQ(json::parse(r.dump()), r);
}

TEST(Report, SelectsOnValidationTrace) {
  // Selecting on trace C and reporting on A: C's best accuracy under .75
  // decides the threshold, A's figures are reported at it.
  ReportInputs in;
  in.trace = fixtures::trace_a();
  in.val = fixtures::trace_c();
  in.val->num_classes = 3; // Same shape of network: widen C to 3 classes.
  in.val->probs.clear();
  for (int64_t n = 0; n < 5; ++n) {
    for (int64_t e = 0; e < 3; ++e) {
      const ExitTrace c = fixtures::trace_c();
      in.val->probs.push_back(c.prob(n, e, 0));
      in.val->probs.push_back(c.prob(n, e, 1));
      in.val->probs.push_back(0.0F);
    }
  }
  ReportOptions o = options_for("A");
  o.val_trace_dir = "C";
  const json r = build_report(in, o);
  EXPECT_EQ(r.at("selection"), "val");
  const std::vector<SweepPoint> sel =
      sweep(*in.val, kMaxProbPolicy, NoExitRule::kMostConfident);
  const auto choice = choose_param(
      sel,
      *exit_policy_type(kMaxProbPolicy).fitted({}),
      BudgetPick::kBestAccuracy,
      in.trace,
      0.75,
      NoExitRule::kMostConfident);
  ASSERT_TRUE(choice.has_value());
  EXPECT_DOUBLE_EQ(
      r.at("budgets").at("0.75").at("threshold").get<double>(), choice->param);
  EXPECT_DOUBLE_EQ(
      r.at("budgets").at("0.75").at("accuracy").get<double>(),
      simulate(in.trace, *make_exit_policy(kMaxProbPolicy, choice->param))
          .accuracy);
  // A validation trace of another network shape is refused.
  in.val = fixtures::trace_c();
  EXPECT_THROW(build_report(in, o), sdn::Error);
}

TEST(Report, ComparesEveryExitPolicy) {
  ReportInputs in;
  in.trace = fixtures::random_trace(120, 7, 5, 21);
  in.val = fixtures::random_trace(100, 7, 5, 22);
  in.train = fixtures::random_trace(80, 7, 5, 23);
  ReportOptions o = options_for("T");
  o.val_trace_dir = "V";
  o.train_trace_dir = "R";
  const Report r = build_report(in, o);
  ASSERT_TRUE(r.policies.has_value());
  std::vector<std::string> names;
  for (const auto& [name, result] : *r.policies) {
    names.push_back(name);
  }
  EXPECT_EQ(
      names,
      (std::vector<std::string>{
          "budget-fit", "ensemble", "entropy", "max-prob", "patience"}));
  // max-prob's entry is the top-level sweep and budgets, as before.
  const PolicyResult& mp = r.policies->at("max-prob");
  ASSERT_EQ(mp.sweep.size(), r.sweep->size());
  for (size_t i = 0; i < mp.sweep.size(); ++i) {
    EXPECT_EQ(mp.sweep[i].param, (*r.sweep)[i].threshold);
    EXPECT_EQ(mp.sweep[i].accuracy, (*r.sweep)[i].accuracy);
    EXPECT_EQ(mp.sweep[i].cost, (*r.sweep)[i].cost);
    ASSERT_EQ(mp.sweep[i].exit_share.size(), 7u);
    EXPECT_DOUBLE_EQ(
        mp.sweep[i].exit_share.back(),
        100 * (*r.sweep)[i].exit_fraction.back());
  }
  ASSERT_EQ(mp.budgets.half.has_value(), r.budgets->half.has_value());
  if (r.budgets->half) {
    EXPECT_EQ(mp.budgets.half->param, r.budgets->half->threshold);
    EXPECT_EQ(mp.budgets.half->accuracy, r.budgets->half->accuracy);
  }
  EXPECT_FALSE(mp.fitted_on.has_value());
  EXPECT_EQ(r.policies->at("budget-fit").fitted_on, "val");
  EXPECT_EQ(r.policies->at("ensemble").fitted_on, "train");
  EXPECT_EQ(r.policies->at("patience").sweep.size(), 5u); // t = 1..E-2
  // Each budget's choice fits its budget on the selection trace: the cost
  // on the report trace is near it, and every cell is a grid point.
  for (const auto& [name, result] : *r.policies) {
    for (const PolicyBudgetColumn& column : policy_budget_columns()) {
      const std::optional<PolicyBudget>& entry = result.budgets.*column.entry;
      if (!entry) {
        continue;
      }
      const bool on_grid = std::any_of(
          result.sweep.begin(), result.sweep.end(), [&](const auto& row) {
            return row.param == entry->param;
          });
      EXPECT_TRUE(on_grid) << name << " " << column.key;
    }
  }
  // The JSON form round-trips.
  const json j = r;
  const Report back = report_from_json(j, "report.json");
  EXPECT_EQ(json(back), j);
  EXPECT_TRUE(j.at("policies").at("ensemble").at("budgets").contains("0.25"));
  // --policies chooses; patience is left out, with a warning, where E < 3.
  o.policies = {"patience", "entropy"};
  const Report two = build_report(in, o);
  EXPECT_EQ(two.policies->size(), 2u);
  ReportInputs small;
  small.trace = fixtures::random_trace(30, 2, 3, 4);
  const Report none = build_report(small, o);
  EXPECT_EQ(none.policies->count("patience"), 0u);
  EXPECT_EQ(none.policies->count("entropy"), 1u);
  const bool warned = std::any_of(
      none.warnings.begin(), none.warnings.end(), [](const std::string& w) {
        return w.find("patience policy has no parameter for 2 exits") !=
            std::string::npos;
      });
  EXPECT_TRUE(warned);
  // Fitted on the test trace itself: a warning says so.
  o.policies = {"budget-fit"};
  const Report self = build_report(small, o);
  EXPECT_EQ(self.policies->at("budget-fit").fitted_on, "test");
  EXPECT_TRUE(std::any_of(
      self.warnings.begin(), self.warnings.end(), [](const std::string& w) {
        return w.find("fitted on the test trace itself") != std::string::npos;
      }));
}

TEST(Report, OodSectionOnlyWithAnOodTrace) {
  ReportInputs in;
  in.trace = fixtures::trace_a();
  ExitTrace ood = fixtures::make_trace(
      {{{0.5F, 0.25F, 0.25F}, {0.4F, 0.3F, 0.3F}, {0.5F, 0.3F, 0.2F}}},
      {-1},
      {0.3, 0.6, 1.05});
  ood.ood = true;
  ood.ood_source = "inverted";
  in.ood = ood;
  ReportOptions o = options_for("A");
  o.ood_trace_dir = "O";
  const Report r = build_report(in, o);
  ASSERT_TRUE(r.ood.has_value());
  EXPECT_EQ(r.ood->source, "inverted");
  EXPECT_EQ(r.ood->auroc.size(), 3u);
  EXPECT_EQ(r.ood->early_exit.size(), sweep_thresholds().size());
  EXPECT_EQ(r.ood->ood_trace.dir, "O");
  const json j = r;
  EXPECT_TRUE(j.contains("ood"));
  EXPECT_EQ(json(report_from_json(j, "r")), j);
  std::ostringstream text;
  print_report(text, r);
  EXPECT_NE(
      text.str().find("Out-of-distribution detection against inverted"),
      std::string::npos);
  // Without it, no key at all.
  in.ood.reset();
  EXPECT_FALSE(json(build_report(in, options_for("A"))).contains("ood"));
  // An OOD trace anywhere else is refused, naming the option.
  in.val = ood;
  EXPECT_NE(
      sdn::testing::error_message([&] {
        build_report(in, o);
      }).find("--val-trace: an out-of-distribution trace"),
      std::string::npos);
  in.val.reset();
  in.ood = fixtures::trace_a();
  EXPECT_NE(
      sdn::testing::error_message([&] {
        build_report(in, o);
      }).find("--ood-trace O: not an out-of-distribution trace"),
      std::string::npos);
  ReportInputs swapped;
  swapped.trace = ood;
  EXPECT_THROW(build_report(swapped, options_for("O")), sdn::Error);
}

TEST(Report, CnnTraceOmitsIcAnalyses) {
  ReportInputs in;
  in.trace = fixtures::make_trace(
      {{{0.9F, 0.1F}}, {{0.2F, 0.8F}}, {{0.6F, 0.4F}}, {{0.3F, 0.7F}}},
      {0, 1, 1, 1},
      {1.0});
  const Report report = build_report(in, options_for("cnn"));
  const json r = report;
  EXPECT_DOUBLE_EQ(r.at("cnn_accuracy").get<double>(), 75.0);
  EXPECT_TRUE(r.at("sweep").is_null());
  EXPECT_TRUE(r.at("budgets").is_null());
  EXPECT_TRUE(r.at("overthinking").is_null());
  EXPECT_TRUE(r.at("confusion").is_null());
  std::ostringstream text;
  print_report(text, report);
  EXPECT_NE(text.str().find("final"), std::string::npos);
}

TEST(Report, CnnAndTrainTracesAndBackdoor) {
  ReportInputs in;
  in.trace = fixtures::trace_a();
  // CNN on A's samples: right on s0, s1, s2; wrong on s3 -> 75 %.
  in.cnn = fixtures::make_trace(
      {{{0.8F, 0.1F, 0.1F}},
       {{0.1F, 0.8F, 0.1F}},
       {{0.1F, 0.1F, 0.8F}},
       {{0.6F, 0.3F, 0.1F}}},
      {0, 1, 2, 1},
      {1.0});
  in.train = fixtures::trace_a();
  in.trigger = fixtures::trace_a();
  ReportOptions o = options_for("A");
  o.select_on = Selection::kTest;
  o.target = 1;
  const Report report = build_report(in, o);
  const json r = report;
  EXPECT_EQ(r.at("selection"), "test");
  EXPECT_DOUBLE_EQ(r.at("cnn_accuracy").get<double>(), 75.0);
  EXPECT_EQ(r.at("confusion").at("normalized_with"), "train");
  EXPECT_EQ(r.at("confusion").at("confidence").at("source"), "cnn");
  // Selecting on test by request: no fallback warning, and train is given;
  // only budget-fit says it is fitted on the test trace itself.
  EXPECT_EQ(r.at("warnings").size(), 1u) << r.at("warnings").dump();
  EXPECT_NE(
      r.at("warnings")[0].get<std::string>().find(
          "budget-fit policy is fitted on the test trace itself"),
      std::string::npos);
  // Backdoor with target 1 on A: attacked s0 (label 0) and s2 (label 2);
  // IC1 says 0 and 0, IC2 0 and 2, final 0 and 0 -> no success anywhere.
  ASSERT_TRUE(r.contains("backdoor"));
  EXPECT_EQ(r.at("backdoor").at("num_attacked"), 2);
  EXPECT_EQ(r.at("backdoor").at("attack_success"), json({0.0, 0.0, 0.0}));
  // No class names in the triggered trace's meta.json: no target name.
  EXPECT_FALSE(r.at("backdoor").contains("target_name"));
  // With them, the target's name is in the JSON, the text and read back.
  in.trigger->meta["class_names"] = {"cat", "dog", "emu"};
  const Report named = build_report(in, o);
  const json n = named;
  EXPECT_EQ(n.at("backdoor").at("target_name"), "dog");
  EXPECT_EQ(
      json(report_from_json(n, "r")).at("backdoor").at("target_name"), "dog");
  std::ostringstream named_text;
  print_report(named_text, named);
  EXPECT_NE(
      named_text.str().find("Backdoor (target class 1 'dog', 2 triggered"),
      std::string::npos)
      << named_text.str();
  std::ostringstream text;
  print_report(text, report);
  for (const char* part :
       {"Budget table",
        "<=25%",
        "Max",
        "Wasteful",
        "Destructive",
        "Confusion",
        "Backdoor"}) {
    EXPECT_NE(text.str().find(part), std::string::npos) << part;
  }
  // A CNN trace over other samples is refused.
  in.cnn->labels = {0, 0, 0, 0};
  EXPECT_THROW(build_report(in, o), sdn::Error);
}

TEST(Report, OptionsValidate) {
  ReportOptions o;
  EXPECT_THROW(o.validate(), sdn::Error);
  EXPECT_THROW(parse_selection("train"), sdn::Error);
  EXPECT_EQ(parse_selection("test"), Selection::kTest);
  o.trace_dir = "T";
  EXPECT_NO_THROW(o.validate());
  o.policies = {"entropy", "entropy"};
  EXPECT_THROW(o.validate(), sdn::Error);
  o.policies = {"calm"};
  EXPECT_THROW(o.validate(), sdn::Error);
  o.policies = {};
  EXPECT_THROW(o.validate(), sdn::Error);
}

} // namespace
