#pragma once

// The confusion metric (docs/exit-trace.md#confusion): how far the ICs' softmax
// outputs are from the final one, z-scored with training-set statistics, as a
// detector of misclassification compared with the max-softmax confidence.

#include "sdn/analysis/exit_trace.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::analysis {

/// [N] raw confusion: sum over all exits j of L1(p_final - p_j) (the final
/// exit contributes 0; the original's 1e-6 pairwise-distance eps is left
/// out).
std::vector<double> raw_confusion(const ExitTrace& trace);

/// Mean and population standard deviation (ddof 0) of some scores.
struct ScoreStats {
  double mean = 0; ///< Arithmetic mean.
  double std = 0; ///< Population standard deviation.
};

/// Mean and population std of `scores`; {0, 0} when empty.
ScoreStats score_stats(const std::vector<double>& scores);

/// AUROC of `scores` as a detector of `positive` (higher score = more
/// likely positive): P(score_pos > score_neg) + 0.5 P(equal), the
/// Mann-Whitney statistic. NaN when either class is empty.
double auroc(
    const std::vector<double>& scores,
    const std::vector<uint8_t>& positive);

/// False-negative rate when flagging the round(flag_rate * N) highest
/// scores (ties broken by lower sample index first): positives not flagged
/// / positives. NaN without positives.
double fnr_at_flag_rate(
    const std::vector<double>& scores,
    const std::vector<uint8_t>& positive,
    double flag_rate);

/// Counts of two groups over common, equal-width bins.
struct Histogram {
  std::vector<double> edges; ///< bins + 1 edges, ascending.
  std::vector<int64_t> correct; ///< Per bin, correct samples.
  std::vector<int64_t> wrong; ///< Per bin, wrong samples.
};

/// `bins` equal bins spanning min..max of all scores (last bin closed, as
/// numpy.histogram); a span of 0 is widened to +-0.5.
Histogram histogram(
    const std::vector<double>& scores,
    const std::vector<uint8_t>& wrong,
    int64_t bins);

/// Number of bins of the confusion histogram (as the paper's figure).
constexpr int64_t kConfusionBins = 25;

/// How well one per-sample score separates right from wrong predictions.
struct DetectorSummary {
  double mean_correct = 0; ///< Mean score over correct samples (NaN: none).
  double mean_wrong = 0; ///< Mean score over wrong samples (NaN: none).
  double mean = 0; ///< Mean over all samples.
  double std = 0; ///< Population std over all samples.
  double auroc = 0; ///< AUROC for detecting wrong predictions.
  double fnr = 0; ///< FNR when flagging as many samples as are wrong.
  double flag_rate = 0; ///< The fraction flagged (the error rate).
  int64_t num_correct = 0; ///< Correct samples.
  int64_t num_wrong = 0; ///< Wrong samples.
};

/// Confidence (max softmax) as a misclassification detector.
struct ConfidenceSummary {
  std::string source; ///< "cnn" (a CNN trace's only exit) or "sdn_final".
  DetectorSummary detector; ///< Means of the confidence; AUROC and FNR of
                            ///< (1 - confidence).
  /// Correct samples less confident than the wrong samples' mean.
  int64_t correct_below_wrong_mean = 0;
  /// Wrong samples more confident than the correct samples' mean.
  int64_t wrong_above_correct_mean = 0;
};

/// The confusion analysis of a test trace.
struct ConfusionResult {
  std::string normalized_with; ///< "train" or "test" (no train trace).
  ScoreStats normalization; ///< The mean and std used to z-score.
  std::vector<double> normalized; ///< [N] normalised confusion.
  DetectorSummary detector; ///< Of normalised confusion vs final wrong.
  /// Correct samples above the wrong samples' mean confusion.
  int64_t correct_above_wrong_mean = 0;
  /// Wrong samples below the correct samples' mean confusion.
  int64_t wrong_below_correct_mean = 0;
  Histogram histogram; ///< kConfusionBins bins of normalised confusion.
  ConfidenceSummary confidence; ///< The confidence baseline.
};

/// Confusion of `test` (an SDN trace, E >= 2) normalised with `train`'s raw
/// scores (its own when `train` is null; a zero std is replaced by 1),
/// split by whether the final exit is right. The confidence baseline is the
/// max softmax of `cnn`'s single exit (split by the CNN's own correctness)
/// when given, else of `test`'s final exit. Throws sdn::Error when the
/// traces do not fit together.
ConfusionResult analyze_confusion(
    const ExitTrace& test,
    const ExitTrace* train,
    const ExitTrace* cnn);

} // namespace sdn::analysis
