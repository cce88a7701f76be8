#pragma once

// Out-of-distribution detection with the exits (docs/exit-trace.md#ood):
// how well does each exit's confidence, early exit's confidence, or the
// confusion metric tell in-distribution test images from images of another
// distribution (noise, inverted images, unseen classes)? Plain C++: no
// LibTorch here.

#include "sdn/analysis/early_exit.h"
#include "sdn/analysis/exit_trace.h"

#include <string>
#include <vector>

namespace sdn::analysis {

/// AUROC of early exit's confidence at one max-prob threshold.
struct EarlyExitOod {
  double threshold = 0; ///< q.
  double auroc = 0; ///< In [0, 1]; 0.5 = chance.
};

/// How well the exits separate an in-distribution trace from an OOD trace.
/// Every AUROC counts ties as one half (auroc(), confusion.h).
struct OodResult {
  /// [E] AUROC of exit e's confidence c_e, in-distribution samples as the
  /// positives (a confident exit says "in distribution").
  std::vector<double> auroc;
  /// At each threshold: the confidence at the exit that answered each
  /// sample, in-distribution as the positives.
  std::vector<EarlyExitOod> early_exit;
  /// AUROC of the raw confusion score (raw_confusion()), OOD samples as the
  /// positives (higher confusion = more likely OOD).
  double confusion_auroc = 0;
};

/// Compares `in` (an in-distribution trace) with `ood` (its `ood` flag
/// set), both of the same network. Throws sdn::Error when `ood` is not an
/// OOD trace, `in` is one, or their exits or classes differ.
OodResult analyze_ood(
    const ExitTrace& in,
    const ExitTrace& ood,
    const std::vector<double>& thresholds,
    NoExitRule rule = NoExitRule::kMostConfident);

} // namespace sdn::analysis
