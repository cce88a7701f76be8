#include "sdn/analysis/early_exit.h"
#include "sdn/util/error.h"

#include "error_message.h"
#include "trace_fixtures.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace sdn::analysis;
using fixtures::make_trace;
using fixtures::trace_a;

// The paper's policy, fitted (on nothing).
const PolicyMaker& max_prob() {
  static const auto maker = exit_policy_type(kMaxProbPolicy).fitted({});
  return *maker;
}

// The paper's policy at threshold q.
ExitSimulation simulate_q(
    const ExitTrace& trace,
    double q,
    NoExitRule rule = NoExitRule::kMostConfident) {
  return simulate(trace, *make_exit_policy(kMaxProbPolicy, q), rule);
}

// Trace A (see trace_fixtures.h) at q = 0.65:
//   s0: IC1 .9 >= .65 -> exits at IC1, says 0 (right), cost .3
//   s1: IC1 .5 no, IC2 .7 -> exits at IC2, says 1 (right), cost .6
//   s2: .4, .4 -> no exit; most confident of (.4 .4 .6) = final, says 0
//       (wrong); cost 1.05
//   s3: .6, .35 -> no exit; most confident of (.6 .35 .5) = IC1, says 1
//       (right); the final exit says 0 (wrong); cost 1.05
// Accuracy 75 % (most-confident) vs 50 % (final); cost 3.0 / 4 = 0.75.
TEST(EarlyExit, MostConfidentAndFinalRulesDiffer) {
  const ExitTrace a = trace_a();
  const ExitSimulation mc = simulate_q(a, 0.65, NoExitRule::kMostConfident);
  EXPECT_EQ(mc.exit_index, (std::vector<int64_t>{0, 1, 2, 2}));
  EXPECT_EQ(mc.answered_by, (std::vector<int64_t>{0, 1, 2, 0}));
  EXPECT_EQ(mc.prediction, (std::vector<int64_t>{0, 1, 0, 1}));
  EXPECT_DOUBLE_EQ(mc.accuracy, 75.0);
  EXPECT_DOUBLE_EQ(mc.cost, 0.75);
  EXPECT_EQ(mc.exit_fraction, (std::vector<double>{0.25, 0.25, 0.5}));

  const ExitSimulation fin = simulate_q(a, 0.65, NoExitRule::kFinal);
  EXPECT_EQ(fin.exit_index, mc.exit_index);
  EXPECT_EQ(fin.answered_by, (std::vector<int64_t>{0, 1, 2, 2}));
  EXPECT_EQ(fin.prediction, (std::vector<int64_t>{0, 1, 0, 0}));
  EXPECT_DOUBLE_EQ(fin.accuracy, 50.0);
  EXPECT_DOUBLE_EQ(fin.cost, 0.75);
}

TEST(EarlyExit, NoSampleExitsAndAllExitAtFirstIc) {
  const ExitTrace a = trace_a();
  // q = .95: no IC reaches it; everyone pays the whole SDN (1.05). Most
  // confident: s0 IC1 (.9, right), s1 final (.8, right), s2 final (wrong),
  // s3 IC1 (right) -> 75 %.
  const ExitSimulation none = simulate_q(a, 0.95);
  EXPECT_EQ(none.exit_fraction, (std::vector<double>{0, 0, 1}));
  EXPECT_DOUBLE_EQ(none.cost, 1.05);
  EXPECT_DOUBLE_EQ(none.accuracy, 75.0);
  // q = .3: every IC1 confidence (.9 .5 .4 .6) reaches it; IC1 is right on
  // s0 and s3 -> 50 %, cost .3.
  const ExitSimulation all = simulate_q(a, 0.3);
  EXPECT_EQ(all.exit_fraction, (std::vector<double>{1, 0, 0}));
  EXPECT_DOUBLE_EQ(all.cost, 0.3);
  EXPECT_DOUBLE_EQ(all.accuracy, 50.0);
}

TEST(EarlyExit, ThresholdIsInclusiveInFloat32) {
  // s0's IC1 confidence is 0.9f < 0.9 in double; PyTorch compares in
  // float32, where they are equal, so q = 0.9 still takes s0 at IC1.
  const ExitSimulation sim = simulate_q(trace_a(), 0.9);
  EXPECT_EQ(sim.exit_index[0], 0);
  // s1's IC1 confidence is exactly 0.5: q = 0.5 takes it at IC1.
  EXPECT_EQ(simulate_q(trace_a(), 0.5).exit_index[1], 0);
  EXPECT_EQ(simulate_q(trace_a(), 0.51).exit_index[1], 1);
}

TEST(EarlyExit, MostConfidentTieGoesToTheEarliestExit) {
  // One sample, label 1: IC1 [.7 .3] says 0, IC2 [.3 .7] says 1, final
  // [.6 .4]. At q = .9 nobody exits; IC1 and IC2 tie at .7; the earliest
  // (IC1, wrong) answers, as numpy.argmax over the outputs in order would.
  const ExitTrace t = make_trace(
      {{{0.7F, 0.3F}, {0.3F, 0.7F}, {0.6F, 0.4F}}}, {1}, {0.3, 0.6, 1.0});
  const ExitSimulation sim = simulate_q(t, 0.9);
  EXPECT_EQ(sim.answered_by[0], 0);
  EXPECT_DOUBLE_EQ(sim.accuracy, 0.0);
}

TEST(EarlyExit, SweepMatchesSimulate) {
  const ExitTrace t = fixtures::random_trace(60, 4, 5, 7);
  const std::vector<SweepPoint> points =
      sweep(t, max_prob(), NoExitRule::kFinal, {0.2, 0.5, 0.9});
  ASSERT_EQ(points.size(), 3u);
  for (const SweepPoint& p : points) {
    const ExitSimulation sim = simulate_q(t, p.param, NoExitRule::kFinal);
    EXPECT_DOUBLE_EQ(p.accuracy, sim.accuracy);
    EXPECT_DOUBLE_EQ(p.cost, sim.cost);
    EXPECT_EQ(p.exit_fraction, sim.exit_fraction);
  }
}

TEST(EarlyExit, PickParamTies) {
  const std::vector<SweepPoint> points = {
      {0.1, 70, 0.30, {}},
      {0.5, 80, 0.50, {}},
      {0.6, 80, 0.45, {}},
      {0.7, 80, 0.45, {}},
      {0.9, 90, 0.90, {}}};
  // Nothing costs <= .25.
  EXPECT_FALSE(pick_param(points, 0.25).has_value());
  // <= .3: only q = .1.
  EXPECT_EQ(pick_param(points, 0.3), std::optional<size_t>(0));
  // <= .5: best accuracy 80 at .5/.6/.7; lower cost .45 at .6/.7; lower
  // threshold .6. A budget equal to a cost counts as met (.45).
  EXPECT_EQ(pick_param(points, 0.5), std::optional<size_t>(2));
  EXPECT_EQ(pick_param(points, 0.45), std::optional<size_t>(2));
  // No budget (Max): 90 %.
  EXPECT_EQ(pick_param(points, std::nullopt), std::optional<size_t>(4));
  // budget-fit's rule: the largest cost within the budget (ties: higher
  // accuracy, then lower parameter); Max stays the best accuracy.
  const auto largest = BudgetPick::kLargestCost;
  EXPECT_FALSE(pick_param(points, 0.25, largest).has_value());
  EXPECT_EQ(pick_param(points, 0.47, largest), std::optional<size_t>(2));
  EXPECT_EQ(pick_param(points, 0.5, largest), std::optional<size_t>(1));
  EXPECT_EQ(pick_param(points, 1.0, largest), std::optional<size_t>(4));
  EXPECT_EQ(
      pick_param(points, std::nullopt, largest), std::optional<size_t>(4));
}

// Trace A's accuracy and cost as a function of q (float32 comparisons):
//   q <= .4        cost .3                 acc 50
//   .4 < q <= .5   (.3+.3+1.05+.3)/4 = .4875   50  (s1 exits at IC1, wrong)
//   .5 < q <= .6   (.3+.6+1.05+.3)/4 = .5625   75
//   .6 < q <= .7   (.3+.6+1.05+1.05)/4 = .75   75
//   .7 < q <= .9   .8625                       75
//   q > .9         1.05                        75
TEST(EarlyExit, ParamForBudget) {
  const ExitTrace a = trace_a();
  // <= .5: only accuracy 50 fits; the cheapest (.3) at the lowest q.
  EXPECT_DOUBLE_EQ(param_for_budget(a, kMaxProbPolicy, 0.5), 0.01);
  // <= .6 and <= .75: 75 % at cost .5625 first at q = .51.
  EXPECT_DOUBLE_EQ(param_for_budget(a, kMaxProbPolicy, 0.6), 0.51);
  EXPECT_DOUBLE_EQ(param_for_budget(a, kMaxProbPolicy, 0.75), 0.51);
  // Unreachable: the cheapest is .3.
  try {
    param_for_budget(a, kMaxProbPolicy, 0.2);
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("lowest reachable is 0.3"), std::string::npos) << msg;
  }
  EXPECT_THROW(param_for_budget(a, kMaxProbPolicy, 0.0), sdn::Error);
}

// Selection trace V (exits IC1, final; cost .4, 1.0):
//   v0 label 0: IC1 [.8 .2] right, final [.9 .1] right
//   v1 label 1: IC1 [.7 .3] wrong, final [.2 .8] right
//   q <= .7: both exit at IC1: 50 %, cost .4
//   .7 < q <= .8: v0 exits, v1 runs on (final .8 > .7): 100 %, cost .7
//   q > .8: nobody exits: 100 %, cost 1.0
// Report trace R:
//   r0 label 0: IC1 [.75 .25] right, final [.6 .4] right
//   r1 label 1: IC1 [.6 .4] wrong, final [.45 .55] right
//   at q = .71: r0 exits (cost .4, right); r1 runs on, most confident is
//   IC1 (.6 > .55, wrong): 50 %, cost .7. With the final rule: 100 %.
TEST(EarlyExit, BudgetsChosenOnSelectionReportedOnReport) {
  const ExitTrace v = make_trace(
      {{{0.8F, 0.2F}, {0.9F, 0.1F}}, {{0.7F, 0.3F}, {0.2F, 0.8F}}},
      {0, 1},
      {0.4, 1.0});
  const ExitTrace r = make_trace(
      {{{0.75F, 0.25F}, {0.6F, 0.4F}}, {{0.6F, 0.4F}, {0.45F, 0.55F}}},
      {0, 1},
      {0.4, 1.0});
  const auto mc = NoExitRule::kMostConfident;
  const std::vector<SweepPoint> sel = sweep(v, kMaxProbPolicy, mc);
  const auto b75 =
      choose_param(sel, max_prob(), BudgetPick::kBestAccuracy, r, 0.75, mc);
  ASSERT_TRUE(b75.has_value());
  EXPECT_DOUBLE_EQ(b75->param, 0.71);
  EXPECT_DOUBLE_EQ(b75->selection_accuracy, 100.0);
  EXPECT_DOUBLE_EQ(b75->selection_cost, 0.7);
  EXPECT_DOUBLE_EQ(b75->accuracy, 50.0);
  EXPECT_DOUBLE_EQ(b75->cost, 0.7);
  // Max: 100 % at the lower cost (.7 beats 1.0) -> the same q.
  const auto best = choose_param(
      sel, max_prob(), BudgetPick::kBestAccuracy, r, std::nullopt, mc);
  ASSERT_TRUE(best.has_value());
  EXPECT_DOUBLE_EQ(best->param, 0.71);
  // <= .5: only q <= .7 (50 %, .4) fits -> q = .01; on R everyone exits at
  // IC1: r0 right, r1 wrong.
  const auto b50 =
      choose_param(sel, max_prob(), BudgetPick::kBestAccuracy, r, 0.5, mc);
  ASSERT_TRUE(b50.has_value());
  EXPECT_DOUBLE_EQ(b50->param, 0.01);
  EXPECT_DOUBLE_EQ(b50->accuracy, 50.0);
  EXPECT_DOUBLE_EQ(b50->cost, 0.4);
  // Unreachable budget -> none.
  EXPECT_FALSE(
      choose_param(sel, max_prob(), BudgetPick::kBestAccuracy, r, 0.3, mc)
          .has_value());
  // The final rule changes the report figure.
  const auto fin = choose_param(
      sweep(v, kMaxProbPolicy, NoExitRule::kFinal),
      max_prob(),
      BudgetPick::kBestAccuracy,
      r,
      0.75,
      NoExitRule::kFinal);
  ASSERT_TRUE(fin.has_value());
  EXPECT_DOUBLE_EQ(fin->param, 0.71);
  EXPECT_DOUBLE_EQ(fin->accuracy, 100.0);
}

TEST(EarlyExit, BudgetsAreNeverExceededOnSelection) {
  const ExitTrace t = fixtures::random_trace(300, 7, 10, 11);
  const std::vector<SweepPoint> sel =
      sweep(t, kMaxProbPolicy, NoExitRule::kMostConfident);
  for (const double budget : {0.2, 0.25, 0.4, 0.5, 0.75, 0.9}) {
    const auto choice = choose_param(
        sel,
        max_prob(),
        BudgetPick::kBestAccuracy,
        t,
        budget,
        NoExitRule::kMostConfident);
    if (!choice) {
      continue;
    }
    EXPECT_LE(choice->selection_cost, budget + 1e-9) << budget;
    // Selecting on the report trace itself: both figures agree.
    EXPECT_DOUBLE_EQ(choice->cost, choice->selection_cost);
    EXPECT_DOUBLE_EQ(choice->accuracy, choice->selection_accuracy);
    // No threshold within the budget is more accurate.
    for (const SweepPoint& p : sel) {
      if (p.cost <= budget) {
        EXPECT_LE(p.accuracy, choice->selection_accuracy);
      }
    }
  }
}

// Trace A's normalised entropies (K = 3) at (IC1, IC2):
//   s0 .3590 .5817   s1 .8587 .7298   s2 .9912 .9912   s3 .8650 .9977
// At h = .75: s0 leaves at IC1, s1 at IC2, s2 and s3 run on: the exits of
// max-prob at q = .65 (MostConfidentAndFinalRulesDiffer): 75 %, cost .75.
// At h = .87: s1 (wrong) and s3 (right) leave at IC1 too: 50 %, cost
// (.3 + .3 + 1.05 + .3) / 4 = .4875.
TEST(EarlyExit, EntropyPolicyOnTraceA) {
  const ExitTrace a = trace_a();
  const ExitSimulation at75 = simulate(a, *make_exit_policy("entropy", 0.75));
  EXPECT_EQ(at75.policy, "entropy");
  EXPECT_EQ(at75.param, 0.75);
  EXPECT_EQ(at75.exit_index, (std::vector<int64_t>{0, 1, 2, 2}));
  EXPECT_EQ(at75.prediction, simulate_q(a, 0.65).prediction);
  EXPECT_DOUBLE_EQ(at75.accuracy, 75.0);
  EXPECT_DOUBLE_EQ(at75.cost, 0.75);
  const ExitSimulation at87 =
      simulate(a, *make_exit_policy("entropy", 0.87), NoExitRule::kFinal);
  EXPECT_EQ(at87.exit_index, (std::vector<int64_t>{0, 0, 2, 0}));
  EXPECT_EQ(at87.prediction, (std::vector<int64_t>{0, 0, 0, 1}));
  EXPECT_DOUBLE_EQ(at87.accuracy, 50.0);
  EXPECT_DOUBLE_EQ(at87.cost, 0.4875);
  EXPECT_EQ(at87.exit_fraction, (std::vector<double>{0.75, 0, 0.25}));
}

// On entropy's grid over trace A (see above):
//   h < .36       nobody exits       cost 1.05   75 %
//   .36 .. .72    s0 at IC1          .8625       75
//   .73 .. .85    + s1 at IC2        .75         75
//   .86           s1 at IC1 instead  .675        50
//   .87 .. .99    + s3 at IC1        .4875       50
TEST(EarlyExit, EntropyParamForBudget) {
  const ExitTrace a = trace_a();
  EXPECT_DOUBLE_EQ(param_for_budget(a, "entropy", 0.8), 0.73);
  EXPECT_DOUBLE_EQ(param_for_budget(a, "entropy", 0.5), 0.87);
  try {
    param_for_budget(a, "entropy", 0.4);
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("entropy"), std::string::npos) << msg;
    EXPECT_NE(msg.find("lowest reachable is 0.4875"), std::string::npos) << msg;
  }
}

TEST(EarlyExit, SweepCoversEveryPolicysGrid) {
  const ExitTrace t = fixtures::random_trace(80, 4, 6, 5);
  const ExitTrace other = fixtures::random_trace(40, 4, 6, 6);
  FitTraces fit;
  fit.val = &other;
  fit.train = &other;
  for (const std::string& name : exit_policy_names()) {
    const ExitPolicyType& type = exit_policy_type(name);
    const std::vector<double> grid = type.grid(t.num_exits);
    const std::vector<SweepPoint> points =
        sweep(t, name, NoExitRule::kMostConfident, fit);
    ASSERT_EQ(points.size(), grid.size()) << name;
    for (size_t i = 0; i < points.size(); i += 17) {
      EXPECT_EQ(points[i].param, grid[i]);
      const ExitSimulation sim = simulate(t, *type.make(grid[i], fit));
      EXPECT_DOUBLE_EQ(points[i].accuracy, sim.accuracy) << name;
      EXPECT_DOUBLE_EQ(points[i].cost, sim.cost) << name;
      EXPECT_EQ(points[i].exit_fraction, sim.exit_fraction) << name;
    }
  }
  EXPECT_THROW(sweep(t, "calm", NoExitRule::kFinal), sdn::Error);
  // A fitted policy without its trace names the option.
  EXPECT_THROW(sweep(t, "budget-fit", NoExitRule::kFinal), sdn::Error);
}

TEST(EarlyExit, EnsembleAnswersWithItsCombinedOutput) {
  // Zero weights: exit 1 answers with the normalised sqrt(p_0 * p_1).
  // Sample 0: IC1 [.9 .1], final [.2 .8]: sqrt: [.424 .283] -> class 0,
  // confidence .6; the final alone says class 1.
  const ExitTrace t = make_trace(
      {{{0.9F, 0.1F}, {0.2F, 0.8F}}, {{0.3F, 0.7F}, {0.4F, 0.6F}}},
      {0, 1},
      {0.5, 1.0});
  const auto ensemble =
      make_ensemble_policy(0.95, EnsembleWeights::zeros(2, 2));
  const ExitSimulation sim = simulate(t, *ensemble, NoExitRule::kFinal);
  EXPECT_EQ(sim.exit_index, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(sim.prediction, (std::vector<int64_t>{0, 1}));
  EXPECT_DOUBLE_EQ(sim.accuracy, 100.0);
  // At q = .69 both leave at IC1 (p_0 itself: .9 and .7).
  const ExitSimulation at7 =
      simulate(t, *make_ensemble_policy(0.69, EnsembleWeights::zeros(2, 2)));
  EXPECT_EQ(at7.exit_index, (std::vector<int64_t>{0, 0}));
  // Weights for another network are refused.
  EXPECT_THROW(
      simulate(t, *make_ensemble_policy(0.7, EnsembleWeights::zeros(3, 2))),
      sdn::Error);
}

// A policy that reads history: exits once the deciding IC and the one
// before it agree (patience 1). The simulation hands it every earlier row.
class AgreePolicy final : public ExitPolicy {
 public:
  AgreePolicy() : ExitPolicy("agree", 0, {0, 0}) {}
  int64_t history() const override {
    return 2;
  }
  bool exits(const ExitRows& rows) const override {
    if (rows.count < 2) {
      return false;
    }
    auto argmax = [&](const float* row) {
      return std::max_element(row, row + rows.num_classes) - row;
    };
    return argmax(rows.at(rows.exit - 1)) == argmax(rows.current());
  }
  std::string describe() const override {
    return "two exits agree";
  }
};

TEST(EarlyExit, PoliciesGetTheDecidingRowsTopClass) {
  // A policy that checks what the simulation hands it, and never exits.
  class Checking final : public ExitPolicy {
   public:
    Checking() : ExitPolicy("checking", 0, {0, 0}) {}
    bool exits(const ExitRows& rows) const override {
      const float* row = rows.current();
      const auto top = std::max_element(row, row + rows.num_classes) - row;
      EXPECT_EQ(rows.top_class, top);
      EXPECT_EQ(rows.top_prob, max_probability(row, rows.num_classes));
      EXPECT_EQ(rows.count, rows.exit + 1);
      EXPECT_EQ(rows.num_exits, 5);
      return false;
    }
    std::string describe() const override {
      return "checking";
    }
  };
  const ExitSimulation sim =
      simulate(fixtures::random_trace(50, 5, 7, 3), Checking());
  EXPECT_EQ(sim.exit_fraction.back(), 1.0);
}

TEST(EarlyExit, PoliciesSeeEarlierExits) {
  // Trace A's argmax at (IC1, IC2): s0 (0, 0), s1 (0, 1), s2 (0, 2),
  // s3 (1, 0): only s0 has agreeing ICs, at IC2.
  const ExitSimulation sim = simulate(trace_a(), AgreePolicy());
  EXPECT_EQ(sim.exit_index, (std::vector<int64_t>{1, 2, 2, 2}));
}

TEST(EarlyExit, PolicyRequest) {
  ExitPolicyRequest r;
  auto error = [&] {
    try {
      r.validate();
    } catch (const sdn::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error().find("exactly one of --param"), std::string::npos);
  r.threshold = 0.9;
  EXPECT_EQ(error(), "");
  EXPECT_EQ(resolve_exit_policy(r)->describe(), "max-softmax >= 0.9");
  r.policy = "entropy";
  EXPECT_NE(
      error().find("--threshold means --policy max-prob"), std::string::npos);
  r.policy = kMaxProbPolicy;
  r.param = 0.5;
  EXPECT_NE(error().find("one of --threshold and --param"), std::string::npos);
  r.threshold.reset();
  r.policy = "entropy";
  EXPECT_EQ(resolve_exit_policy(r)->describe(), "normalised entropy <= 0.5");
  r.param = 2;
  EXPECT_NE(
      error().find("--param of the entropy policy must be in [0, 1], got 2"),
      std::string::npos);
  r.param.reset();
  r.threshold = 1.5;
  r.policy = kMaxProbPolicy;
  EXPECT_NE(
      error().find("--threshold must be in [0, 1], got 1.5"),
      std::string::npos);
  r.threshold.reset();
  r.policy = "nope";
  r.budget = 0.5;
  EXPECT_NE(
      error().find("--policy must be one of max-prob, entropy, patience"),
      std::string::npos);
  r.policy = "entropy";
  EXPECT_NE(error().find("--budget needs --val-trace"), std::string::npos);
  r.val_trace = "/nonexistent";
  r.budget = 0;
  EXPECT_NE(
      error().find("--budget must be a finite number > 0"), std::string::npos);
  r.budget = 0.5;
  r.param = 0.5;
  EXPECT_NE(error().find("exactly one of --param"), std::string::npos);
  // Traces a policy does not use, and fitted policies without theirs.
  r = {};
  r.param = 0.5;
  r.val_trace = "/nonexistent";
  EXPECT_NE(
      error().find("--val-trace has no effect without --budget"),
      std::string::npos);
  r.val_trace.clear();
  r.train_trace = "/nonexistent";
  EXPECT_NE(
      error().find("--train-trace has no effect for the max-prob policy"),
      std::string::npos);
  r.policy = "budget-fit";
  r.train_trace.clear();
  EXPECT_NE(
      error().find("budget-fit policy is fitted on a validation trace"),
      std::string::npos);
  r.val_trace = "/nonexistent";
  EXPECT_EQ(error(), "");
  r.policy = "ensemble";
  r.val_trace.clear();
  EXPECT_NE(error().find("give --train-trace"), std::string::npos);
  r.train_trace = "/nonexistent";
  EXPECT_EQ(error(), "");
  // Both traces without a budget: the validation trace would go unused.
  r.val_trace = "/nonexistent";
  EXPECT_NE(
      error().find("--val-trace has no effect for the ensemble policy"),
      std::string::npos);
  r.val_trace.clear();
  r.policy = "patience";
  r.train_trace.clear();
  r.param = 1.5;
  EXPECT_NE(error().find("a whole number"), std::string::npos);
}

TEST(EarlyExit, PolicyRequestChoosesOnTheValidationTrace) {
  const std::string dir = fixtures::temp_dir("policy_request");
  write_trace(dir, trace_a());
  ExitPolicyRequest r;
  r.policy = "entropy";
  r.budget = 0.5;
  r.val_trace = dir;
  const auto policy = resolve_exit_policy(r);
  EXPECT_EQ(policy->name(), "entropy");
  EXPECT_DOUBLE_EQ(policy->param(), 0.87);
  r.policy = kMaxProbPolicy;
  r.budget = 0.6;
  EXPECT_DOUBLE_EQ(resolve_exit_policy(r)->param(), 0.51);
  // budget-fit fits on the validation trace and picks the r that spends
  // most of the budget; the ensemble fits on the training trace.
  r.policy = "budget-fit";
  const auto fitted = resolve_exit_policy(r);
  EXPECT_EQ(fitted->name(), "budget-fit");
  EXPECT_LE(simulate(trace_a(), *fitted).cost, 0.6 + 1e-9);
  const std::string train = fixtures::temp_dir("policy_request_train");
  write_trace(train, trace_a());
  r.policy = "ensemble";
  r.budget.reset();
  r.val_trace.clear();
  r.train_trace = train;
  r.param = 0.9;
  EXPECT_EQ(resolve_exit_policy(r)->name(), "ensemble");
  // A trace of another network is refused, naming the option.
  r.num_exits = 5;
  const std::string msg =
      sdn::testing::error_message([&] { resolve_exit_policy(r); });
  EXPECT_NE(msg.find("--train-trace " + train), std::string::npos) << msg;
}

TEST(EarlyExit, ParsesRules) {
  EXPECT_EQ(parse_no_exit_rule("final"), NoExitRule::kFinal);
  EXPECT_EQ(parse_no_exit_rule("most-confident"), NoExitRule::kMostConfident);
  EXPECT_EQ(to_string(NoExitRule::kFinal), "final");
  EXPECT_THROW(parse_no_exit_rule("latest"), sdn::Error);
}

} // namespace
