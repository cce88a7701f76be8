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
/// answered by `rule`. A policy that combines() answers (and is confident,
/// for the decision and for kMostConfident) with its combined output at
/// each exit instead of the exit's softmax. Throws sdn::Error when the
/// policy was fitted for another E or K (ExitPolicy::check_network).
ExitSimulation simulate(
    const ExitTrace& trace,
    const ExitPolicy& policy,
    NoExitRule rule = NoExitRule::kMostConfident);

/// The predictions `policy` answers with at every exit: compute_predictions
/// of the trace's softmax, or of the policy's combine() when it combines().
TracePredictions policy_predictions(
    const ExitTrace& trace,
    const ExitPolicy& policy);

/// The same from precomputed predictions, policy_predictions(trace, policy)
/// (sweeps compute them once).
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

/// Simulates policy `policy` (a registered name), fitted once on `fit`,
/// at every parameter of its grid for the trace's E (ExitPolicyType::grid).
/// Throws sdn::Error for an unknown name or a trace the policy needs and
/// `fit` lacks.
std::vector<SweepPoint> sweep(
    const ExitTrace& trace,
    const std::string& policy,
    NoExitRule rule,
    const FitTraces& fit = {});

/// The same with a fitted policy at the parameters `params` (each within
/// the policy's range).
std::vector<SweepPoint> sweep(
    const ExitTrace& trace,
    const PolicyMaker& policy,
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

/// Index into `selection` of the row chosen for `budget` among those whose
/// cost is <= `budget`: kBestAccuracy takes the highest accuracy (ties:
/// lower cost, then lower parameter), kLargestCost the highest cost (ties:
/// higher accuracy, then lower parameter). No budget when `budget` is
/// nullopt (the table's Max column): the highest accuracy, whatever `pick`.
/// nullopt when no row fits.
std::optional<size_t> pick_param(
    const std::vector<SweepPoint>& selection,
    std::optional<double> budget,
    BudgetPick pick = BudgetPick::kBestAccuracy);

/// Chooses the parameter of the fitted `policy` on its `selection` sweep
/// (pick_param with `pick`) and reports its accuracy and cost on `report`.
/// nullopt when none fits.
std::optional<BudgetChoice> choose_param(
    const std::vector<SweepPoint>& selection,
    const PolicyMaker& policy,
    BudgetPick pick,
    const ExitTrace& report,
    std::optional<double> budget,
    NoExitRule rule);

/// The parameter of `policy`'s grid chosen on `val` for `budget` (a
/// fraction of the CNN's cost, > 0) by pick_param with the policy's
/// BudgetPick, the policy fitted on `fit` (its validation trace defaults to
/// `val`). Throws sdn::Error when none fits, giving the lowest reachable
/// cost.
double param_for_budget(
    const ExitTrace& val,
    const std::string& policy,
    double budget,
    NoExitRule rule = NoExitRule::kMostConfident,
    const FitTraces& fit = {});

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
  /// --val-trace: the trace --budget is chosen on, and the one a policy
  /// fitted on validation (budget-fit; ensemble without --train-trace)
  /// learns from.
  std::string val_trace;
  /// --train-trace: the trace the ensemble policy learns its weights from.
  std::string train_trace;
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
  /// policy's range; --val-trace where neither --budget nor the policy uses
  /// it; --train-trace for a policy other than ensemble; a fitted policy
  /// without the trace it learns from.
  void validate() const;
};

/// The policy `request` asks for: at the given parameter, or at
/// param_for_budget on the validation trace, fitted on the traces it names
/// (read here). Validates first; throws sdn::Error as validate(),
/// read_trace() and param_for_budget() do, and naming --val-trace or
/// --train-trace when its exits or classes differ from the request's
/// network.
std::unique_ptr<ExitPolicy> resolve_exit_policy(
    const ExitPolicyRequest& request);

} // namespace sdn::analysis
