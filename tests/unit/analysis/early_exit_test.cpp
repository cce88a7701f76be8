#include "sdn/analysis/early_exit.h"
#include "sdn/util/error.h"

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
  const ExitSimulation mc = simulate(a, 0.65, NoExitRule::kMostConfident);
  EXPECT_EQ(mc.exit_index, (std::vector<int64_t>{0, 1, 2, 2}));
  EXPECT_EQ(mc.answered_by, (std::vector<int64_t>{0, 1, 2, 0}));
  EXPECT_EQ(mc.prediction, (std::vector<int64_t>{0, 1, 0, 1}));
  EXPECT_DOUBLE_EQ(mc.accuracy, 75.0);
  EXPECT_DOUBLE_EQ(mc.cost, 0.75);
  EXPECT_EQ(mc.exit_fraction, (std::vector<double>{0.25, 0.25, 0.5}));

  const ExitSimulation fin = simulate(a, 0.65, NoExitRule::kFinal);
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
  const ExitSimulation none = simulate(a, 0.95);
  EXPECT_EQ(none.exit_fraction, (std::vector<double>{0, 0, 1}));
  EXPECT_DOUBLE_EQ(none.cost, 1.05);
  EXPECT_DOUBLE_EQ(none.accuracy, 75.0);
  // q = .3: every IC1 confidence (.9 .5 .4 .6) reaches it; IC1 is right on
  // s0 and s3 -> 50 %, cost .3.
  const ExitSimulation all = simulate(a, 0.3);
  EXPECT_EQ(all.exit_fraction, (std::vector<double>{1, 0, 0}));
  EXPECT_DOUBLE_EQ(all.cost, 0.3);
  EXPECT_DOUBLE_EQ(all.accuracy, 50.0);
}

TEST(EarlyExit, ThresholdIsInclusiveInFloat32) {
  // s0's IC1 confidence is 0.9f < 0.9 in double; PyTorch compares in
  // float32, where they are equal, so q = 0.9 still takes s0 at IC1.
  const ExitSimulation sim = simulate(trace_a(), 0.9);
  EXPECT_EQ(sim.exit_index[0], 0);
  // s1's IC1 confidence is exactly 0.5: q = 0.5 takes it at IC1.
  EXPECT_EQ(simulate(trace_a(), 0.5).exit_index[1], 0);
  EXPECT_EQ(simulate(trace_a(), 0.51).exit_index[1], 1);
}

TEST(EarlyExit, MostConfidentTieGoesToTheEarliestExit) {
  // One sample, label 1: IC1 [.7 .3] says 0, IC2 [.3 .7] says 1, final
  // [.6 .4]. At q = .9 nobody exits; IC1 and IC2 tie at .7; the earliest
  // (IC1, wrong) answers, as numpy.argmax over the outputs in order would.
  const ExitTrace t = make_trace(
      {{{0.7F, 0.3F}, {0.3F, 0.7F}, {0.6F, 0.4F}}}, {1}, {0.3, 0.6, 1.0});
  const ExitSimulation sim = simulate(t, 0.9);
  EXPECT_EQ(sim.answered_by[0], 0);
  EXPECT_DOUBLE_EQ(sim.accuracy, 0.0);
}

TEST(EarlyExit, Grids) {
  const std::vector<double> paper = paper_thresholds();
  EXPECT_EQ(paper.size(), 11u);
  const std::vector<double> grid = sweep_thresholds();
  // 99 steps of .01, 9 of .001 above .99, and .9999; the paper's values are
  // all among them.
  EXPECT_EQ(grid.size(), 99u + 9u + 1u);
  EXPECT_TRUE(std::is_sorted(grid.begin(), grid.end()));
  EXPECT_TRUE(std::adjacent_find(grid.begin(), grid.end()) == grid.end());
  for (const double q : paper) {
    EXPECT_NE(std::find(grid.begin(), grid.end(), q), grid.end()) << q;
    EXPECT_TRUE(is_paper_threshold(q));
  }
  EXPECT_FALSE(is_paper_threshold(0.11));
  EXPECT_DOUBLE_EQ(grid.front(), 0.01);
  EXPECT_DOUBLE_EQ(grid.back(), 0.9999);
}

TEST(EarlyExit, SweepMatchesSimulate) {
  const ExitTrace t = fixtures::random_trace(60, 4, 5, 7);
  const std::vector<SweepPoint> points =
      sweep(t, NoExitRule::kFinal, {0.2, 0.5, 0.9});
  ASSERT_EQ(points.size(), 3u);
  for (const SweepPoint& p : points) {
    const ExitSimulation sim = simulate(t, p.threshold, NoExitRule::kFinal);
    EXPECT_DOUBLE_EQ(p.accuracy, sim.accuracy);
    EXPECT_DOUBLE_EQ(p.cost, sim.cost);
    EXPECT_EQ(p.exit_fraction, sim.exit_fraction);
  }
}

TEST(EarlyExit, PickThresholdTies) {
  const std::vector<SweepPoint> points = {
      {0.1, 70, 0.30, {}},
      {0.5, 80, 0.50, {}},
      {0.6, 80, 0.45, {}},
      {0.7, 80, 0.45, {}},
      {0.9, 90, 0.90, {}}};
  // Nothing costs <= .25.
  EXPECT_FALSE(pick_threshold(points, 0.25).has_value());
  // <= .3: only q = .1.
  EXPECT_EQ(pick_threshold(points, 0.3), std::optional<size_t>(0));
  // <= .5: best accuracy 80 at .5/.6/.7; lower cost .45 at .6/.7; lower
  // threshold .6. A budget equal to a cost counts as met (.45).
  EXPECT_EQ(pick_threshold(points, 0.5), std::optional<size_t>(2));
  EXPECT_EQ(pick_threshold(points, 0.45), std::optional<size_t>(2));
  // No budget (Max): 90 %.
  EXPECT_EQ(pick_threshold(points, std::nullopt), std::optional<size_t>(4));
}

// Trace A's accuracy and cost as a function of q (float32 comparisons):
//   q <= .4        cost .3                 acc 50
//   .4 < q <= .5   (.3+.3+1.05+.3)/4 = .4875   50  (s1 exits at IC1, wrong)
//   .5 < q <= .6   (.3+.6+1.05+.3)/4 = .5625   75
//   .6 < q <= .7   (.3+.6+1.05+1.05)/4 = .75   75
//   .7 < q <= .9   .8625                       75
//   q > .9         1.05                        75
TEST(EarlyExit, ThresholdForBudget) {
  const ExitTrace a = trace_a();
  // <= .5: only accuracy 50 fits; the cheapest (.3) at the lowest q.
  EXPECT_DOUBLE_EQ(threshold_for_budget(a, 0.5), 0.01);
  // <= .6 and <= .75: 75 % at cost .5625 first at q = .51.
  EXPECT_DOUBLE_EQ(threshold_for_budget(a, 0.6), 0.51);
  EXPECT_DOUBLE_EQ(threshold_for_budget(a, 0.75), 0.51);
  // Unreachable: the cheapest is .3.
  try {
    threshold_for_budget(a, 0.2);
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("lowest reachable is 0.3"), std::string::npos) << msg;
  }
  EXPECT_THROW(threshold_for_budget(a, 0.0), sdn::Error);
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
  const std::vector<SweepPoint> sel = sweep(v, mc);
  const auto b75 = choose_threshold(sel, r, 0.75, mc);
  ASSERT_TRUE(b75.has_value());
  EXPECT_DOUBLE_EQ(b75->threshold, 0.71);
  EXPECT_DOUBLE_EQ(b75->selection_accuracy, 100.0);
  EXPECT_DOUBLE_EQ(b75->selection_cost, 0.7);
  EXPECT_DOUBLE_EQ(b75->accuracy, 50.0);
  EXPECT_DOUBLE_EQ(b75->cost, 0.7);
  // Max: 100 % at the lower cost (.7 beats 1.0) -> the same q.
  const auto best = choose_threshold(sel, r, std::nullopt, mc);
  ASSERT_TRUE(best.has_value());
  EXPECT_DOUBLE_EQ(best->threshold, 0.71);
  // <= .5: only q <= .7 (50 %, .4) fits -> q = .01; on R everyone exits at
  // IC1: r0 right, r1 wrong.
  const auto b50 = choose_threshold(sel, r, 0.5, mc);
  ASSERT_TRUE(b50.has_value());
  EXPECT_DOUBLE_EQ(b50->threshold, 0.01);
  EXPECT_DOUBLE_EQ(b50->accuracy, 50.0);
  EXPECT_DOUBLE_EQ(b50->cost, 0.4);
  // Unreachable budget -> none.
  EXPECT_FALSE(choose_threshold(sel, r, 0.3, mc).has_value());
  // The final rule changes the report figure.
  const auto fin = choose_threshold(
      sweep(v, NoExitRule::kFinal), r, 0.75, NoExitRule::kFinal);
  ASSERT_TRUE(fin.has_value());
  EXPECT_DOUBLE_EQ(fin->threshold, 0.71);
  EXPECT_DOUBLE_EQ(fin->accuracy, 100.0);
}

TEST(EarlyExit, BudgetsAreNeverExceededOnSelection) {
  const ExitTrace t = fixtures::random_trace(300, 7, 10, 11);
  const std::vector<SweepPoint> sel = sweep(t, NoExitRule::kMostConfident);
  for (const double budget : {0.2, 0.25, 0.4, 0.5, 0.75, 0.9}) {
    const auto choice =
        choose_threshold(sel, t, budget, NoExitRule::kMostConfident);
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

TEST(EarlyExit, ParsesRules) {
  EXPECT_EQ(parse_no_exit_rule("final"), NoExitRule::kFinal);
  EXPECT_EQ(parse_no_exit_rule("most-confident"), NoExitRule::kMostConfident);
  EXPECT_EQ(to_string(NoExitRule::kFinal), "final");
  EXPECT_THROW(parse_no_exit_rule("latest"), sdn::Error);
}

} // namespace
