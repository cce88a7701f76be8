#pragma once

// Confidence-threshold early exit simulated on a trace (spec 9): a sample
// leaves at the first IC whose max probability reaches q; the others run the
// whole SDN. Threshold sweeps and budget selection for the paper's table.

#include "sdn/analysis/exit_trace.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sdn::analysis {

/// Who answers a sample that no IC takes.
enum class NoExitRule {
  /// The most confident output among all exits, ICs and final (the
  /// original's rule; on equal confidence the earliest exit, as numpy.argmax
  /// over the list of outputs in order).
  kMostConfident,
  /// The final classifier.
  kFinal,
};

/// "most-confident" or "final".
std::string to_string(NoExitRule rule);

/// Parses "most-confident" / "final"; throws sdn::Error otherwise.
NoExitRule parse_no_exit_rule(const std::string& text);

/// The outcome of early exit at one threshold.
struct ExitSimulation {
  double threshold = 0; ///< q.
  /// [N] exit taken: 0..E-2 for an IC, E-1 when no IC fired.
  std::vector<int64_t> exit_index;
  /// [N] the exit whose output answered (differs from exit_index only for
  /// samples no IC took, under kMostConfident).
  std::vector<int64_t> answered_by;
  std::vector<int64_t> prediction; ///< [N] the class returned.
  double accuracy = 0; ///< Top-1, percent.
  double cost = 0; ///< Average cost relative to the CNN.
  /// [E] fraction of samples leaving at each IC; the last entry is the
  /// fraction no IC took.
  std::vector<double> exit_fraction;
};

/// Simulates early exit at threshold `q`: exit at the first IC (0..E-2) with
/// max probability >= q (compared in float32, as PyTorch compares a float
/// tensor with a Python number), charged exit_cost[i]; samples
/// no IC takes are charged exit_cost.back() and answered by `rule`.
ExitSimulation simulate(
    const ExitTrace& trace,
    double q,
    NoExitRule rule = NoExitRule::kMostConfident);

/// The same from precomputed predictions (sweeps compute them once).
ExitSimulation simulate(
    const ExitTrace& trace,
    const TracePredictions& predictions,
    double q,
    NoExitRule rule);

/// The thresholds the original script sweeps:
/// {0.1, 0.15, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999}.
std::vector<double> paper_thresholds();

/// The paper's grid united with a fine grid (0.01..0.99 in steps of 0.01,
/// 0.991..0.999 in steps of 0.001, and 0.9999), sorted, without duplicates.
std::vector<double> sweep_thresholds();

/// True when `q` is one of paper_thresholds().
bool is_paper_threshold(double q);

/// One row of a threshold sweep.
struct SweepPoint {
  double threshold = 0; ///< q.
  double accuracy = 0; ///< Top-1, percent.
  double cost = 0; ///< Average cost relative to the CNN.
  std::vector<double> exit_fraction; ///< As ExitSimulation::exit_fraction.
};

/// Simulates every threshold of `thresholds` (default: sweep_thresholds()).
std::vector<SweepPoint> sweep(
    const ExitTrace& trace,
    NoExitRule rule,
    const std::vector<double>& thresholds = sweep_thresholds());

/// A threshold chosen on a selection trace, with its results on the report
/// trace.
struct BudgetChoice {
  double threshold = 0; ///< The chosen q.
  double accuracy = 0; ///< Accuracy (percent) on the report trace.
  double cost = 0; ///< Average relative cost on the report trace.
  double selection_accuracy = 0; ///< Accuracy on the selection trace.
  double selection_cost = 0; ///< Cost on the selection trace.
};

/// Index into `selection` of the row with the highest accuracy among those
/// whose cost is <= `budget` (ties: lower cost, then lower threshold); no
/// budget when `budget` is nullopt (the table's Max column). nullopt when no
/// row fits.
std::optional<size_t> pick_threshold(
    const std::vector<SweepPoint>& selection,
    std::optional<double> budget);

/// Chooses the threshold on the `selection` sweep (pick_threshold) and
/// reports its accuracy and cost on `report`. nullopt when none fits.
std::optional<BudgetChoice> choose_threshold(
    const std::vector<SweepPoint>& selection,
    const ExitTrace& report,
    std::optional<double> budget,
    NoExitRule rule);

/// The threshold of sweep_thresholds() with the best accuracy on `val`
/// whose average cost on `val` stays within `budget` (a fraction of the
/// CNN's cost, > 0). Throws sdn::Error when no threshold fits, giving the
/// lowest reachable cost.
double threshold_for_budget(
    const ExitTrace& val,
    double budget,
    NoExitRule rule = NoExitRule::kMostConfident);

} // namespace sdn::analysis
