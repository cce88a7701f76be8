#include "sdn/analysis/confusion.h"
#include "sdn/util/error.h"

#include "trace_fixtures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace {

using namespace sdn::analysis;
using fixtures::make_trace;

// Trace T (exits IC1, final; 2 classes):
//   t0 label 0: IC1 [.9 .1], final [.8 .2]  L1 .2, final right (conf .8)
//   t1 label 0: IC1 [.5 .5], final [.7 .3]  L1 .4, right (.7)
//   t2 label 1: IC1 [.2 .8], final [.6 .4]  L1 .8, wrong (.6)
//   t3 label 1: IC1 [.9 .1], final [.4 .6]  L1 1.0, right (.6)
ExitTrace trace_t() {
  return make_trace(
      {{{0.9F, 0.1F}, {0.8F, 0.2F}},
       {{0.5F, 0.5F}, {0.7F, 0.3F}},
       {{0.2F, 0.8F}, {0.6F, 0.4F}},
       {{0.9F, 0.1F}, {0.4F, 0.6F}}},
      {0, 0, 1, 1},
      {0.5, 1.0});
}

TEST(Confusion, RawScoreIsSumOfL1ToFinal) {
  const std::vector<double> raw = raw_confusion(trace_t());
  const std::vector<double> expected = {0.2, 0.4, 0.8, 1.0};
  ASSERT_EQ(raw.size(), 4u);
  for (size_t i = 0; i < raw.size(); ++i) {
    EXPECT_NEAR(raw[i], expected[i], 1e-6) << i;
  }
  // Three exits: the final contributes 0, each IC its L1 distance. Trace A
  // s0: IC1 [.9 .05 .05] vs final [.7 .2 .1]: .2+.15+.05 = .4; IC2
  // [.8 .1 .1]: .1+.1+0 = .2; total .6.
  EXPECT_NEAR(raw_confusion(fixtures::trace_a())[0], 0.6, 1e-6);
}

TEST(Confusion, PopulationStats) {
  const ScoreStats s = score_stats({0.2, 0.4, 0.8, 1.0});
  // mean .6; squared deviations .16 .04 .04 .16 -> var .1 (ddof 0).
  EXPECT_NEAR(s.mean, 0.6, 1e-12);
  EXPECT_NEAR(s.std, std::sqrt(0.1), 1e-12);
}

TEST(Confusion, AurocOnKnownRanking) {
  // scikit-learn's roc_auc_score example: 0.75.
  EXPECT_DOUBLE_EQ(auroc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
  // Perfect and reversed rankings.
  EXPECT_DOUBLE_EQ(auroc({1, 2, 3, 4}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(auroc({4, 3, 2, 1}, {0, 0, 1, 1}), 0.0);
  // Ties count one half: positive 2 vs negatives {1, 2}: (1 + .5) / 2.
  EXPECT_DOUBLE_EQ(auroc({1, 2, 2}, {0, 0, 1}), 0.75);
  EXPECT_TRUE(std::isnan(auroc({1, 2}, {0, 0})));
}

TEST(Confusion, FnrAtFlagRate) {
  // Flag the top 2 of 4 (scores 4 and 3): positives {3 (idx 1), 1 (idx 3)}:
  // idx 3 is missed -> 1/2.
  EXPECT_DOUBLE_EQ(fnr_at_flag_rate({4, 3, 2, 1}, {0, 1, 0, 1}, 0.5), 0.5);
  // Ties at the cut go to the lower index: scores equal, flag 1 -> idx 0.
  EXPECT_DOUBLE_EQ(fnr_at_flag_rate({1, 1}, {1, 0}, 0.5), 0.0);
  EXPECT_DOUBLE_EQ(fnr_at_flag_rate({1, 1}, {0, 1}, 0.5), 1.0);
  EXPECT_TRUE(std::isnan(fnr_at_flag_rate({1, 2}, {0, 0}, 0.5)));
}

TEST(Confusion, HistogramBins) {
  // Edges 0 1 2 3 4; the maximum falls in the last (closed) bin.
  const Histogram h = histogram({0, 0.5, 1, 2, 4}, {0, 1, 0, 1, 0}, 4);
  EXPECT_EQ(h.edges, (std::vector<double>{0, 1, 2, 3, 4}));
  EXPECT_EQ(h.correct, (std::vector<int64_t>{1, 1, 0, 1}));
  EXPECT_EQ(h.wrong, (std::vector<int64_t>{1, 0, 1, 0}));
  // A constant score gets a unit-wide span around it.
  const Histogram c = histogram({1, 1}, {0, 1}, 2);
  EXPECT_EQ(c.edges, (std::vector<double>{0.5, 1.0, 1.5}));
  EXPECT_EQ(c.correct, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(c.wrong, (std::vector<int64_t>{0, 1}));
}

TEST(Confusion, SelfNormalisedWithSdnConfidence) {
  const ConfusionResult r = analyze_confusion(trace_t(), nullptr, nullptr);
  EXPECT_EQ(r.normalized_with, "test");
  // z = (raw - .6) / sqrt(.1): -1.2649 -0.6325 0.6325 1.2649.
  const double z = 0.2 / std::sqrt(0.1);
  EXPECT_NEAR(r.normalized[0], -2 * z, 1e-5);
  EXPECT_NEAR(r.normalized[2], z, 1e-5);
  // Wrong = {t2}. Mean correct = (-2z - z + 2z) / 3 = -z/3; wrong = z.
  EXPECT_NEAR(r.detector.mean_correct, -z / 3, 1e-5);
  EXPECT_NEAR(r.detector.mean_wrong, z, 1e-5);
  EXPECT_EQ(r.detector.num_wrong, 1);
  // t3 (2z) is above the wrong mean; t2 (z) is not below -z/3.
  EXPECT_EQ(r.correct_above_wrong_mean, 1);
  EXPECT_EQ(r.wrong_below_correct_mean, 0);
  // t2 outranks 2 of the 3 correct samples.
  EXPECT_NEAR(r.detector.auroc, 2.0 / 3.0, 1e-12);
  // Error rate 1/4: flag 1, the top confusion is t3 (right) -> t2 missed.
  EXPECT_DOUBLE_EQ(r.detector.flag_rate, 0.25);
  EXPECT_DOUBLE_EQ(r.detector.fnr, 1.0);
  // Confidence of the final exit: .8 .7 .6 .6; 1 - conf for t2 (.4) beats
  // .2, .3 and ties t3's .4: (2 + .5) / 3. Flagging 1 by 1 - conf: t2 and t3
  // tie, the lower index (t2) is flagged -> FNR 0.
  EXPECT_EQ(r.confidence.source, "sdn_final");
  EXPECT_NEAR(r.confidence.detector.auroc, 2.5 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.confidence.detector.fnr, 0.0);
  EXPECT_NEAR(r.confidence.detector.mean_correct, 0.7, 1e-6);
  EXPECT_NEAR(r.confidence.detector.mean_wrong, 0.6, 1e-6);
  EXPECT_EQ(r.confidence.correct_below_wrong_mean, 0);
  EXPECT_EQ(r.confidence.wrong_above_correct_mean, 0);
  // Histogram: 25 bins, common edges from min to max, every sample counted.
  EXPECT_EQ(r.histogram.edges.size(), 26u);
  EXPECT_NEAR(r.histogram.edges.front(), -2 * z, 1e-5);
  EXPECT_NEAR(r.histogram.edges.back(), 2 * z, 1e-5);
  int64_t correct = 0;
  int64_t wrong = 0;
  for (size_t b = 0; b < 25; ++b) {
    correct += r.histogram.correct[b];
    wrong += r.histogram.wrong[b];
  }
  EXPECT_EQ(correct, 3);
  EXPECT_EQ(wrong, 1);
  EXPECT_EQ(r.histogram.correct.back(), 1); // t3 at the maximum.
}

TEST(Confusion, NormalisedWithTrainAndCnnConfidence) {
  // Train trace raw scores 0 and 1: mean .5, std .5.
  const ExitTrace train = make_trace(
      {{{0.5F, 0.5F}, {0.5F, 0.5F}}, {{1.0F, 0.0F}, {0.5F, 0.5F}}},
      {0, 1},
      {0.5, 1.0});
  // CNN on the same samples: [.9 .1] right, [.4 .6] wrong, [.3 .7] right,
  // [.55 .45] wrong.
  const ExitTrace cnn = make_trace(
      {{{0.9F, 0.1F}}, {{0.4F, 0.6F}}, {{0.3F, 0.7F}}, {{0.55F, 0.45F}}},
      {0, 0, 1, 1},
      {1.0});
  const ConfusionResult r = analyze_confusion(trace_t(), &train, &cnn);
  EXPECT_EQ(r.normalized_with, "train");
  EXPECT_NEAR(r.normalization.mean, 0.5, 1e-6);
  EXPECT_NEAR(r.normalization.std, 0.5, 1e-6);
  // (raw - .5) / .5 for raw .2 .4 .8 1.0.
  const std::vector<double> expected = {-0.6, -0.2, 0.6, 1.0};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(r.normalized[i], expected[i], 1e-5) << i;
  }
  // The CNN's confidence, split by the CNN's own correctness.
  EXPECT_EQ(r.confidence.source, "cnn");
  EXPECT_NEAR(r.confidence.detector.mean_correct, 0.8, 1e-6);
  EXPECT_NEAR(r.confidence.detector.mean_wrong, 0.575, 1e-6);
  EXPECT_DOUBLE_EQ(r.confidence.detector.auroc, 1.0);
  EXPECT_DOUBLE_EQ(r.confidence.detector.flag_rate, 0.5);
  EXPECT_DOUBLE_EQ(r.confidence.detector.fnr, 0.0);
}

TEST(Confusion, RejectsTracesThatDoNotFit) {
  const ExitTrace cnn = make_trace({{{0.9F, 0.1F}}}, {0}, {1.0});
  EXPECT_THROW(analyze_confusion(trace_t(), nullptr, &cnn), sdn::Error);
  EXPECT_THROW(analyze_confusion(cnn, nullptr, nullptr), sdn::Error);
}

} // namespace
