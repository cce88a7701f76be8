#pragma once

// The backdoor experiment (docs/exit-trace.md#backdoor) on traces: how often a
// trigger flips each exit's prediction to the target class, and whether ICs see
// through it.

#include "sdn/analysis/exit_trace.h"
#include "sdn/analysis/overthinking.h"

#include <cstdint>
#include <vector>

namespace sdn::analysis {

/// The original's backdoor target class.
constexpr int64_t kBackdoorTarget = 5;

/// Backdoor figures of one SDN on clean and triggered test traces.
struct BackdoorResult {
  int64_t target = kBackdoorTarget; ///< The attacker's class.
  /// Triggered samples whose true label is not the target (the attack's
  /// denominator).
  int64_t num_attacked = 0;
  /// [E] percent of those predicted as the target at each exit (NaN when
  /// every triggered sample belongs to the target class).
  std::vector<double> attack_success;
  /// [E] top-1 accuracy (percent) of each exit on the clean trace.
  std::vector<double> clean_accuracy;
  /// [E] top-1 accuracy (percent) of each exit on the triggered trace
  /// (true labels).
  std::vector<double> triggered_accuracy;
  /// Destructive overthinking on the triggered trace (true labels): ICs
  /// right where the final exit is fooled.
  DestructiveResult destructive;
};

/// Backdoor analysis. `triggered` holds the trigger-stamped test set with
/// true labels, `clean` the clean test set; both of the same network (same
/// E and K). Throws sdn::Error when they do not fit or `target` is not a
/// class.
BackdoorResult analyze_backdoor(
    const ExitTrace& triggered,
    const ExitTrace& clean,
    int64_t target = kBackdoorTarget);

} // namespace sdn::analysis
