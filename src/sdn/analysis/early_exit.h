#pragma once

// Early exit simulated on a trace (docs/exit-trace.md#early-exit): a sample
// leaves at the first IC whose exit policy (analysis/exit_policy.h; the paper's
// is max-prob) lets it go; the others run the whole SDN. Parameter sweeps and
// budget selection for the paper's table and for `sdn exit --budget`.

#include "sdn/analysis/exit_policy.h"
#include "sdn/analysis/exit_trace.h"

#include <cstdint>
#include <memory>
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

/// The outcome of early exit under one policy at one parameter.
struct ExitSimulation {
  std::string policy; ///< The policy's name.
  double param = 0; ///< Its parameter (max-prob: the threshold q).
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

/// Simulates early exit under `policy`: each sample exits at the first IC
/// e (0..E-2) where policy.exits() holds on its rows of exits 0..e, charged
/// exit_cost[e]; samples no IC takes are charged exit_cost.back() and
/// answered by `rule`.
ExitSimulation simulate(
    const ExitTrace& trace,
    const ExitPolicy& policy,
    NoExitRule rule = NoExitRule::kMostConfident);

/// The same from precomputed predictions (sweeps compute them once).
ExitSimulation simulate(
    const ExitTrace& trace,
    const TracePredictions& predictions,
    const ExitPolicy& policy,
    NoExitRule rule);

/// One row of a parameter sweep.
struct SweepPoint {
  double param = 0; ///< The policy's parameter (max-prob: q).
  double accuracy = 0; ///< Top-1, percent.
  double cost = 0; ///< Average cost relative to the CNN.
  std::vector<double> exit_fraction; ///< As ExitSimulation::exit_fraction.
};

/// Simulates policy `policy` (a registered name) at every parameter of its
/// grid (ExitPolicyType::grid). Throws sdn::Error for an unknown name.
std::vector<SweepPoint> sweep(
    const ExitTrace& trace,
    const std::string& policy,
    NoExitRule rule);

/// The same at the parameters `params` (each within the policy's range).
std::vector<SweepPoint> sweep(
    const ExitTrace& trace,
    const std::string& policy,
    NoExitRule rule,
    const std::vector<double>& params);

/// A parameter chosen on a selection trace, with its results on the report
/// trace.
struct BudgetChoice {
  double param = 0; ///< The chosen parameter (max-prob: q).
  double accuracy = 0; ///< Accuracy (percent) on the report trace.
  double cost = 0; ///< Average relative cost on the report trace.
  double selection_accuracy = 0; ///< Accuracy on the selection trace.
  double selection_cost = 0; ///< Cost on the selection trace.
};

/// Index into `selection` of the row with the highest accuracy among those
/// whose cost is <= `budget` (ties: lower cost, then lower parameter); no
/// budget when `budget` is nullopt (the table's Max column). nullopt when no
/// row fits.
std::optional<size_t> pick_param(
    const std::vector<SweepPoint>& selection,
    std::optional<double> budget);

/// Chooses the parameter of `policy` on its `selection` sweep (pick_param)
/// and reports its accuracy and cost on `report`. nullopt when none fits.
std::optional<BudgetChoice> choose_param(
    const std::vector<SweepPoint>& selection,
    const std::string& policy,
    const ExitTrace& report,
    std::optional<double> budget,
    NoExitRule rule);

/// The parameter of `policy`'s grid with the best accuracy on `val` whose
/// average cost on `val` stays within `budget` (a fraction of the CNN's
/// cost, > 0), by pick_param. Throws sdn::Error when none fits, giving the
/// lowest reachable cost.
double param_for_budget(
    const ExitTrace& val,
    const std::string& policy,
    double budget,
    NoExitRule rule = NoExitRule::kMostConfident);

/// How `sdn exit` names its policy: a parameter given, or the one that fits
/// a cost budget best on a validation trace. Fields mirror the options.
struct ExitPolicyRequest {
  std::string policy = kMaxProbPolicy; ///< --policy: a registered name.
  std::optional<double> param; ///< --param: the policy's parameter.
  /// --threshold: max-prob at this q (the older spelling of --policy
  /// max-prob --param q).
  std::optional<double> threshold;
  /// --budget: the largest average cost, relative to the CNN's, > 0.
  std::optional<double> budget;
  std::string val_trace; ///< --val-trace: the trace --budget is chosen on.
  /// --no-exit-rule: the rule the budget's choice simulates with.
  NoExitRule rule = NoExitRule::kMostConfident;
  /// The exits and classes of the network the policy is for; when > 0, the
  /// validation trace must have the same (a trace of another network would
  /// choose a meaningless parameter).
  int64_t num_exits = 0;
  int64_t num_classes = 0;

  /// Throws sdn::Error naming the option: an unknown --policy; --threshold
  /// with --param or with a policy other than max-prob; not exactly one of
  /// a parameter (--param or --threshold) and --budget; --budget without
  /// --val-trace or not > 0; --threshold outside [0, 1]; --param outside the
  /// policy's range.
  void validate() const;
};

/// The policy `request` asks for: at the given parameter, or at
/// param_for_budget on the validation trace (read here). Validates first;
/// throws sdn::Error as validate(), read_trace() and param_for_budget() do,
/// and naming --val-trace when its exits or classes differ from the
/// request's network.
std::unique_ptr<ExitPolicy> resolve_exit_policy(
    const ExitPolicyRequest& request);

} // namespace sdn::analysis
