#pragma once

// Wasteful and destructive overthinking (docs/exit-trace.md#overthinking)
// measured on a trace.

#include "sdn/analysis/exit_trace.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace sdn::analysis {

/// The paper's nominal cumulative costs of ICs 1..6 (C_i = 0.15 i), used by
/// the original's wasteful analysis instead of measured costs.
std::vector<double> nominal_ic_costs();

/// Wasteful-overthinking counts at one exit.
struct WastefulExit {
  int64_t correct = 0; ///< Samples this exit gets right.
  int64_t cumulative_correct = 0; ///< Right here or at any earlier exit.
  int64_t first_correct = 0; ///< Right here and at no earlier exit.
};

/// Wasteful overthinking of a trace.
struct WastefulResult {
  std::vector<WastefulExit> per_exit; ///< [E], ICs then final.
  /// Oracle cost with the nominal costs: each sample charged c_i of the
  /// first IC that gets it right, 1.0 when no IC does (right at the final
  /// exit or nowhere); mean over samples. nullopt with more than 6 ICs.
  std::optional<double> oracle_cost_nominal;
  /// Oracle cost with the measured exit_cost: each sample charged
  /// exit_cost[first exit that gets it right], final exit included, and
  /// exit_cost.back() when no exit does; mean over samples.
  double oracle_cost_measured = 0;
  /// Fraction of samples that at least one IC (not the final) gets right.
  double ic_correct_fraction = 0;
};

/// Wasteful overthinking: per-exit counts and oracle costs.
WastefulResult wasteful_overthinking(const ExitTrace& trace);

/// Destructive-overthinking figures of one IC.
struct DestructiveExit {
  /// Samples this IC gets right that the final exit gets wrong.
  int64_t count = 0;
  /// Mean max probability at this IC over those samples (NaN when none).
  double mean_confidence = 0;
  /// Mean max probability at this IC over all samples it gets right (NaN
  /// when none). The original divides by count + 0.1; this is the true mean.
  double mean_confidence_all_correct = 0;
};

/// Destructive overthinking of a trace.
struct DestructiveResult {
  /// |union over ICs of (right at IC and wrong at final)| / |wrong at
  /// final|; NaN when the final exit is never wrong.
  double rate = 0;
  int64_t wrong_final = 0; ///< Samples the final exit gets wrong.
  int64_t rescued = 0; ///< The union's size (numerator of rate).
  std::vector<DestructiveExit> per_exit; ///< [E-1], one per IC.
};

/// Destructive overthinking: ICs right where the final exit is wrong.
DestructiveResult destructive_overthinking(const ExitTrace& trace);

/// [N] index of the first exit that gets each sample right; -1 for none.
std::vector<int64_t> first_correct_exit(const ExitTrace& trace);

/// Indices of the samples the first IC gets right and no later exit
/// (ICs 2.. and final) does, ascending. Empty for a trace without ICs.
std::vector<int64_t> only_first_ic_correct(const ExitTrace& trace);

/// Indices of the samples the final exit gets wrong and some IC gets right
/// (the `rescued` samples of destructive_overthinking), ascending. Empty
/// for a trace without ICs.
std::vector<int64_t> destructive_samples(const ExitTrace& trace);

} // namespace sdn::analysis
