// Calibration against hand-computed cases: ECE over 15 bins, the KS error,
// early exit's answering exits, and temperature scaling.
#include "sdn/analysis/calibration.h"
#include "sdn/util/error.h"

#include "trace_fixtures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace {

using namespace sdn::analysis;

TEST(Calibration, EceOverEqualWidthBins) {
  // Bin [0.8, 0.8667): c .8, .8 with one right: |.5 - .8| = .3, weight 2/4.
  // Last bin [.9333, 1]: c 1.0 and .95, both right: |1 - .975| = .025,
  // weight 2/4. ECE = .15 + .0125.
  const std::vector<float> c = {0.8F, 0.8F, 1.0F, 0.95F};
  const std::vector<uint8_t> right = {1, 0, 1, 1};
  EXPECT_NEAR(expected_calibration_error(c, right), 0.1625, 1e-6);
  const auto bins = reliability_bins(c, right);
  ASSERT_EQ(bins.size(), 15u);
  EXPECT_EQ(bins[12].count, 2); // floor(.8 * 15) = 12
  EXPECT_EQ(bins[14].count, 2); // 1.0 in the last bin
  EXPECT_DOUBLE_EQ(bins[14].accuracy, 1.0);
  EXPECT_NEAR(bins[14].confidence, 0.975, 1e-6);
  EXPECT_DOUBLE_EQ(bins[0].low, 0.0);
  EXPECT_DOUBLE_EQ(bins[14].high, 1.0);
  // Perfectly calibrated halves: confidence .5, half right.
  EXPECT_NEAR(expected_calibration_error({0.5F, 0.5F}, {1, 0}), 0.0, 1e-12);
  EXPECT_EQ(expected_calibration_error({}, {}), 0.0);
}

TEST(Calibration, KsIsTheLargestPrefixGap) {
  // Sorted by c: .2 (wrong), .6 (right), .9 (wrong): running sums .2, -.2,
  // .7: KS = .7 / 3.
  EXPECT_NEAR(
      ks_calibration_error({0.9F, 0.2F, 0.6F}, {0, 0, 1}), 0.7 / 3, 1e-6);
  EXPECT_NEAR(ks_calibration_error({1.0F, 1.0F}, {1, 1}), 0.0, 1e-12);
  EXPECT_EQ(ks_calibration_error({}, {}), 0.0);
}

TEST(Calibration, BadInputIsAnError) {
  EXPECT_THROW(expected_calibration_error({0.5F}, {1, 0}), sdn::Error);
  EXPECT_THROW(expected_calibration_error({1.5F}, {1}), sdn::Error);
  EXPECT_THROW(ks_calibration_error({std::nanf("")}, {1}), sdn::Error);
  EXPECT_THROW(reliability_bins({0.5F}, {1}, 0), sdn::Error);
}

TEST(Calibration, EarlyExitUsesTheAnsweringExit) {
  // Trace A at q = .85 with the final rule: s0 leaves at IC1 (.9), the
  // others run to the end and are answered by the final exit.
  const ExitTrace a = fixtures::trace_a();
  const CalibrationResult r =
      analyze_calibration(a, {0.85, 1.0}, NoExitRule::kFinal);
  ASSERT_EQ(r.ece.size(), 3u);
  ASSERT_EQ(r.early_exit.size(), 2u);
  // At q = 1 nobody exits early: the final exit's calibration.
  EXPECT_DOUBLE_EQ(r.early_exit[1].ece, r.ece.back());
  EXPECT_DOUBLE_EQ(r.early_exit[1].ks, r.ks.back());
  // Per exit, by hand from the definitions.
  const TracePredictions p = compute_predictions(a);
  for (int64_t e = 0; e < 3; ++e) {
    std::vector<float> c;
    std::vector<uint8_t> right;
    for (int64_t n = 0; n < 4; ++n) {
      c.push_back(p.conf(n, e));
      right.push_back(p.is_correct(n, e) ? 1 : 0);
    }
    EXPECT_DOUBLE_EQ(
        r.ece[static_cast<size_t>(e)], expected_calibration_error(c, right));
    EXPECT_DOUBLE_EQ(
        r.ks[static_cast<size_t>(e)], ks_calibration_error(c, right));
  }
  const ExitSimulation sim =
      simulate(a, *make_exit_policy(kMaxProbPolicy, 0.85), NoExitRule::kFinal);
  std::vector<float> c;
  std::vector<uint8_t> right;
  for (int64_t n = 0; n < 4; ++n) {
    const int64_t at = sim.answered_by[static_cast<size_t>(n)];
    c.push_back(p.conf(n, at));
    right.push_back(p.is_correct(n, at) ? 1 : 0);
  }
  EXPECT_DOUBLE_EQ(r.early_exit[0].ece, expected_calibration_error(c, right));
  EXPECT_DOUBLE_EQ(r.early_exit[0].threshold, 0.85);
}

TEST(Calibration, TemperatureScalingSoftensOverconfidentExits) {
  // An overconfident exit: always .99 sure, right 60 % of the time. The
  // fitted T > 1 lowers the NLL and the ECE; T = 1 changes nothing.
  ExitTrace t;
  t.num_samples = 100;
  t.num_exits = 1;
  t.num_classes = 2;
  for (int i = 0; i < 100; ++i) {
    const bool right = i % 5 < 3;
    t.labels.push_back(right ? 0 : 1);
    t.probs.insert(t.probs.end(), {0.99F, 0.01F});
  }
  t.exit_cost = {1.0};
  const std::vector<double> temps = fit_temperatures(t);
  ASSERT_EQ(temps.size(), 1u);
  // The optimum puts the top probability at the accuracy, .6:
  // .99^(1/T) / (.99^(1/T) + .01^(1/T)) = .6 -> T = ln 99 / ln 1.5.
  EXPECT_NEAR(temps[0], std::log(99.0) / std::log(1.5), 1e-3);
  const ExitTrace scaled = apply_temperatures(t, temps);
  EXPECT_NEAR(scaled.probs[0], 0.6F, 1e-4);
  const CalibrationResult before = analyze_calibration(t, {});
  const CalibrationResult after = analyze_calibration(scaled, {});
  EXPECT_LT(after.ece[0], before.ece[0]);
  EXPECT_NEAR(after.ece[0], 0.0, 1e-4);
  const ExitTrace same = apply_temperatures(t, {1.0});
  EXPECT_NEAR(same.probs[0], 0.99F, 1e-6);
  EXPECT_THROW(apply_temperatures(t, {0.0}), sdn::Error);
  EXPECT_THROW(apply_temperatures(t, {1.0, 1.0}), sdn::Error);
}

} // namespace
