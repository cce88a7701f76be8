#include "sdn/analysis/overthinking.h"

#include "trace_fixtures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace {

using namespace sdn::analysis;
using fixtures::trace_a;
using fixtures::trace_c;

TEST(Overthinking, FirstCorrectExit) {
  // Trace A correctness (IC1 IC2 final): s0 111, s1 011, s2 010, s3 100.
  EXPECT_EQ(first_correct_exit(trace_a()), (std::vector<int64_t>{0, 1, 1, 0}));
  // Trace C: c0 001, c1 110, c2 010, c3 100, c4 000.
  EXPECT_EQ(
      first_correct_exit(trace_c()), (std::vector<int64_t>{2, 0, 1, 0, -1}));
}

TEST(Overthinking, OnlyFirstIcCorrect) {
  // A: s3 (100). C: c3 (100); c1 is also right at IC2.
  EXPECT_EQ(only_first_ic_correct(trace_a()), (std::vector<int64_t>{3}));
  EXPECT_EQ(only_first_ic_correct(trace_c()), (std::vector<int64_t>{3}));
}

TEST(Overthinking, DestructiveSamples) {
  // A: s2 (010) and s3 (100). C: c1 (110), c2 (010), c3 (100).
  EXPECT_EQ(destructive_samples(trace_a()), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(destructive_samples(trace_c()), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(
      static_cast<int64_t>(destructive_samples(trace_c()).size()),
      destructive_overthinking(trace_c()).rescued);
}

TEST(Overthinking, WastefulTraceA) {
  const WastefulResult w = wasteful_overthinking(trace_a());
  ASSERT_EQ(w.per_exit.size(), 3u);
  // correct: IC1 {s0 s3}, IC2 {s0 s1 s2}, final {s0 s1}.
  EXPECT_EQ(w.per_exit[0].correct, 2);
  EXPECT_EQ(w.per_exit[1].correct, 3);
  EXPECT_EQ(w.per_exit[2].correct, 2);
  // cumulative: 2, 4, 4; first correct: 2, 2, 0.
  EXPECT_EQ(w.per_exit[0].cumulative_correct, 2);
  EXPECT_EQ(w.per_exit[1].cumulative_correct, 4);
  EXPECT_EQ(w.per_exit[2].cumulative_correct, 4);
  EXPECT_EQ(w.per_exit[0].first_correct, 2);
  EXPECT_EQ(w.per_exit[1].first_correct, 2);
  EXPECT_EQ(w.per_exit[2].first_correct, 0);
  // Nominal: s0 .15, s1 .30, s2 .30, s3 .15 -> .9 / 4.
  ASSERT_TRUE(w.oracle_cost_nominal.has_value());
  EXPECT_NEAR(*w.oracle_cost_nominal, 0.225, 1e-12);
  // Measured (.3 .6 1.05): .3 + .6 + .6 + .3 = 1.8 / 4.
  EXPECT_NEAR(w.oracle_cost_measured, 0.45, 1e-12);
  EXPECT_DOUBLE_EQ(w.ic_correct_fraction, 1.0);
}

TEST(Overthinking, WastefulTraceCChargesFinalAndNone) {
  const WastefulResult w = wasteful_overthinking(trace_c());
  // correct: IC1 {c1 c3}, IC2 {c1 c2}, final {c0}.
  EXPECT_EQ(w.per_exit[0].correct, 2);
  EXPECT_EQ(w.per_exit[1].correct, 2);
  EXPECT_EQ(w.per_exit[2].correct, 1);
  EXPECT_EQ(w.per_exit[0].first_correct, 2);
  EXPECT_EQ(w.per_exit[1].first_correct, 1);
  EXPECT_EQ(w.per_exit[2].first_correct, 1);
  EXPECT_EQ(w.per_exit[2].cumulative_correct, 4);
  // Nominal: c0 1.0 (only the final is right), c1 .15, c2 .30, c3 .15,
  // c4 1.0 (nobody) -> 2.6 / 5.
  EXPECT_NEAR(*w.oracle_cost_nominal, 0.52, 1e-12);
  // Measured (.2 .5 1.1): c0 1.1 (final), c1 .2, c2 .5, c3 .2, c4 1.1
  // (whole SDN) -> 3.1 / 5.
  EXPECT_NEAR(w.oracle_cost_measured, 0.62, 1e-12);
  EXPECT_DOUBLE_EQ(w.ic_correct_fraction, 0.6);
}

TEST(Overthinking, NominalCostsNeedAtMostSixIcs) {
  const ExitTrace t = fixtures::random_trace(10, 8, 3, 5);
  EXPECT_FALSE(wasteful_overthinking(t).oracle_cost_nominal.has_value());
  EXPECT_TRUE(wasteful_overthinking(fixtures::random_trace(10, 7, 3, 5))
                  .oracle_cost_nominal.has_value());
}

TEST(Overthinking, DestructiveTraceA) {
  const DestructiveResult d = destructive_overthinking(trace_a());
  // Final wrong: s2, s3.
  EXPECT_EQ(d.wrong_final, 2);
  ASSERT_EQ(d.per_exit.size(), 2u);
  // IC1 right on s0 (.9), s3 (.6); of those s3 is wrong at the final.
  EXPECT_EQ(d.per_exit[0].count, 1);
  EXPECT_NEAR(d.per_exit[0].mean_confidence, 0.6, 1e-6);
  EXPECT_NEAR(d.per_exit[0].mean_confidence_all_correct, 0.75, 1e-6);
  // IC2 right on s0 (.8), s1 (.7), s2 (.4); s2 is wrong at the final.
  EXPECT_EQ(d.per_exit[1].count, 1);
  EXPECT_NEAR(d.per_exit[1].mean_confidence, 0.4, 1e-6);
  EXPECT_NEAR(d.per_exit[1].mean_confidence_all_correct, 1.9 / 3, 1e-6);
  // Union {s2, s3} of 2 final errors.
  EXPECT_EQ(d.rescued, 2);
  EXPECT_DOUBLE_EQ(d.rate, 1.0);
}

TEST(Overthinking, DestructiveRateCountsTheUnion) {
  const DestructiveResult d = destructive_overthinking(trace_c());
  // Final wrong: c1 c2 c3 c4. IC1 rescues c1 (.6), c3 (.8); IC2 rescues c1
  // (.75), c2 (.7). Counts 2 + 2 but the union {c1 c2 c3} is 3 -> 3/4.
  EXPECT_EQ(d.wrong_final, 4);
  EXPECT_EQ(d.per_exit[0].count, 2);
  EXPECT_EQ(d.per_exit[1].count, 2);
  EXPECT_NEAR(d.per_exit[0].mean_confidence, 0.7, 1e-6);
  EXPECT_NEAR(d.per_exit[1].mean_confidence, 0.725, 1e-6);
  EXPECT_EQ(d.rescued, 3);
  EXPECT_DOUBLE_EQ(d.rate, 0.75);
}

TEST(Overthinking, DestructiveWithoutFinalErrorsIsUndefined) {
  // Both samples right everywhere: no final errors, no rate; no IC-right
  // sample that the final gets wrong, so that mean is undefined too.
  const ExitTrace t = fixtures::make_trace(
      {{{0.9F, 0.1F}, {0.8F, 0.2F}}, {{0.3F, 0.7F}, {0.1F, 0.9F}}},
      {0, 1},
      {0.5, 1.0});
  const DestructiveResult d = destructive_overthinking(t);
  EXPECT_EQ(d.wrong_final, 0);
  EXPECT_TRUE(std::isnan(d.rate));
  EXPECT_TRUE(std::isnan(d.per_exit[0].mean_confidence));
  EXPECT_NEAR(d.per_exit[0].mean_confidence_all_correct, 0.8, 1e-6);
}

} // namespace
