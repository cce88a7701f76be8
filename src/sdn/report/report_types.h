#pragma once

// The report as types: one struct per part of what `sdn report --json`
// prints (schema: docs/exit-trace.md). build_report fills them, the console
// and HTML printers read them, and report_json.cpp holds their JSON form in
// one place. Members carry the JSON key names; std::optional marks values
// that are null in JSON (undefined figures, sections a trace cannot give).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sdn::report {

/// One trace a report read (report.trace, val_trace, ...).
struct TraceSummary {
  std::string checkpoint; ///< The checkpoint the trace came from ("" none).
  std::string dir; ///< Where it was read from ("" when built in memory).
  nlohmann::json meta; ///< Its whole meta.json, as read (free-form).
  int64_t num_classes = 0; ///< K.
  int64_t num_exits = 0; ///< E.
  int64_t num_samples = 0; ///< N.
  std::string split; ///< "test", "val", ...
};

/// One threshold of the early-exit sweep (report.sweep[i]).
struct SweepRow {
  double accuracy = 0; ///< Top-1 %, report trace.
  double cost = 0; ///< Average cost relative to the CNN.
  std::vector<double> exit_fraction; ///< [E] share leaving at each exit.
  bool paper_grid = false; ///< One of the original's 11 thresholds.
  double threshold = 0; ///< q.
};

/// The threshold chosen for one budget (report.budgets["0.5"], ...).
struct BudgetEntry {
  double accuracy = 0; ///< Top-1 % on the report trace.
  double cost = 0; ///< Average cost on the report trace.
  double selection_accuracy = 0; ///< Top-1 % on the selection trace.
  double selection_cost = 0; ///< Average cost on the selection trace.
  double threshold = 0; ///< The chosen q.
};

/// The paper's budget table (report.budgets); each entry null when no
/// threshold fits. JSON keys "0.25", "0.5", "0.75", "max".
struct Budgets {
  std::optional<BudgetEntry> quarter; ///< Cost <= 25 % ("0.25").
  std::optional<BudgetEntry> half; ///< Cost <= 50 % ("0.5").
  std::optional<BudgetEntry> three_quarters; ///< Cost <= 75 % ("0.75").
  std::optional<BudgetEntry> max; ///< Best accuracy, any cost ("max").
};

/// A column of the budget table: its JSON key, its cost limit as a fraction
/// of the CNN's (nullopt: no limit) and the member holding it.
struct BudgetColumn {
  const char* key; ///< "0.25", "0.5", "0.75" or "max".
  std::optional<double> fraction; ///< 0.25, 0.5, 0.75; nullopt for max.
  std::optional<BudgetEntry> Budgets::*entry; ///< Where Budgets holds it.
};

/// The four columns in the paper's order (<= 25 %, <= 50 %, <= 75 %, max).
const std::vector<BudgetColumn>& budget_table_columns();

/// One parameter of an exit policy's sweep
/// (report.policies[NAME].sweep[i]).
struct PolicySweepRow {
  double param = 0; ///< The policy's parameter.
  double accuracy = 0; ///< Top-1 %, report trace.
  double cost = 0; ///< Average cost relative to the CNN.
  /// [E] % of samples leaving at each IC, the share no IC took last.
  std::vector<double> exit_share;
};

/// The parameter an exit policy's budget picks on the selection trace,
/// with its results on the report trace (report.policies[NAME].budgets).
struct PolicyBudget {
  double param = 0; ///< The chosen parameter.
  double accuracy = 0; ///< Top-1 % on the report trace.
  double cost = 0; ///< Average cost on the report trace.
};

/// An exit policy's budget cells (report.policies[NAME].budgets); each
/// null when no parameter fits. JSON keys "0.25", "0.5", "0.75".
struct PolicyBudgets {
  std::optional<PolicyBudget> quarter; ///< Cost <= 25 % ("0.25").
  std::optional<PolicyBudget> half; ///< Cost <= 50 % ("0.5").
  std::optional<PolicyBudget> three_quarters; ///< Cost <= 75 % ("0.75").
};

/// A column of PolicyBudgets: its JSON key, its cost limit as a fraction of
/// the CNN's and the member holding it.
struct PolicyBudgetColumn {
  const char* key; ///< "0.25", "0.5" or "0.75".
  double fraction; ///< 0.25, 0.5, 0.75.
  std::optional<PolicyBudget> PolicyBudgets::*entry; ///< Where it is held.
};

/// The three columns in order (<= 25 %, <= 50 %, <= 75 %).
const std::vector<PolicyBudgetColumn>& policy_budget_columns();

/// One exit policy's results (report.policies[NAME]).
struct PolicyResult {
  /// The trace it was fitted on ("val", "train" or "test"); null for a
  /// policy that needs no fitting.
  std::optional<std::string> fitted_on;
  std::vector<PolicySweepRow> sweep; ///< Its whole grid, report trace.
  PolicyBudgets budgets; ///< Chosen on the selection trace.
};

/// One bin of an exit's reliability diagram (calibration.bins[e][b]).
struct CalibrationBin {
  double low = 0; ///< Confidence range [low, high); the last bin holds 1.
  double high = 0;
  int64_t count = 0; ///< Samples in the bin.
  double accuracy = 0; ///< Share right, in [0, 1] (0 when empty).
  double confidence = 0; ///< Mean confidence (0 when empty).
};

/// Calibration of the early-exit output at one max-prob threshold
/// (calibration.early_exit[i]).
struct EarlyExitCalibrationRow {
  double threshold = 0; ///< q.
  double ece = 0; ///< In [0, 1].
  double ks = 0; ///< In [0, 1].
};

/// Calibration of every exit and of early exit (report.calibration;
/// analysis/calibration.h).
struct Calibration {
  std::vector<double> ece; ///< [E] expected calibration error, 15 bins.
  std::vector<double> ks; ///< [E] top-label KS calibration error.
  std::vector<std::vector<CalibrationBin>> bins; ///< [E][15].
  /// Early exit at each threshold of the sweep grid (empty without ICs).
  std::vector<EarlyExitCalibrationRow> early_exit;
  /// [E] temperatures fitted on the validation trace; null without one.
  std::optional<std::vector<double>> temperature;
  /// [E] ECE and KS on the report trace after temperature scaling; null
  /// without a validation trace.
  std::optional<std::vector<double>> ece_scaled;
  std::optional<std::vector<double>> ks_scaled; ///< As ece_scaled.
};

/// OOD detection by early exit at one max-prob threshold
/// (ood.early_exit[i]).
struct OodEarlyExitRow {
  double threshold = 0; ///< q.
  double auroc = 0; ///< In [0, 1]; 0.5 = chance.
};

/// Out-of-distribution detection (report.ood, with --ood-trace;
/// analysis/ood.h).
struct Ood {
  std::string source; ///< The OOD trace's ood_source.
  TraceSummary ood_trace; ///< The OOD trace.
  /// [E] AUROC of each exit's confidence (in-distribution positive).
  std::vector<double> auroc;
  /// Early exit at each threshold of the sweep grid: AUROC of the
  /// confidence at the exit that answered.
  std::vector<OodEarlyExitRow> early_exit;
  /// AUROC of the confusion score (OOD positive).
  double confusion_auroc = 0;
};

/// Wasteful overthinking at one exit (overthinking.wasteful.per_exit[i]).
struct WastefulRow {
  int64_t correct = 0; ///< Samples this exit gets right.
  int64_t cumulative_correct = 0; ///< Right here or at an earlier exit.
  int64_t first_correct = 0; ///< Right here and at no earlier exit.
};

/// Wasteful overthinking (overthinking.wasteful).
struct Wasteful {
  double ic_correct_fraction = 0; ///< Share some IC gets right.
  double oracle_cost_measured = 0; ///< Oracle cost, measured exit costs.
  std::optional<double> oracle_cost_nominal; ///< Nominal costs; null > 6 ICs.
  std::vector<WastefulRow> per_exit; ///< [E].
};

/// Destructive overthinking at one IC (destructive.per_exit[i]).
struct DestructiveRow {
  int64_t count = 0; ///< Right at this IC, wrong at the final exit.
  std::optional<double> mean_confidence; ///< Over those; null for none.
  /// Over every sample the IC gets right; null for none.
  std::optional<double> mean_confidence_all_correct;
};

/// Destructive overthinking (overthinking.destructive, backdoor.destructive).
struct Destructive {
  std::vector<DestructiveRow> per_exit; ///< [E-1], one per IC.
  std::optional<double> rate; ///< rescued / wrong_final; null for none.
  int64_t rescued = 0; ///< Final-exit errors some IC gets right.
  int64_t wrong_final = 0; ///< Final-exit errors.
};

/// Wasteful and destructive overthinking (report.overthinking).
struct Overthinking {
  Destructive destructive; ///< ICs right where the final exit is wrong.
  std::vector<int64_t> only_first_ic_correct; ///< Samples only IC1 gets.
  Wasteful wasteful; ///< Samples right before the final exit.
};

/// Raw-score statistics confusion was normalised with.
struct Normalization {
  double mean = 0; ///< Mean raw confusion.
  double std = 0; ///< Population std of the raw confusion.
};

/// Histogram of normalised confusion (confusion.histogram).
struct ConfusionHistogram {
  std::vector<int64_t> correct; ///< Per bin, samples the final exit gets.
  std::vector<double> edges; ///< bins + 1 ascending edges.
  std::vector<int64_t> wrong; ///< Per bin, samples it gets wrong.
};

/// The confidence baseline as an error detector (confusion.confidence).
struct ConfidenceBaseline {
  std::optional<double> auroc; ///< AUROC of 1 - confidence.
  int64_t correct_below_wrong_mean = 0; ///< Right, below the wrong mean.
  std::optional<double> flag_rate; ///< Share flagged (the error rate).
  std::optional<double> fnr; ///< Errors not flagged.
  std::optional<double> mean; ///< Mean confidence.
  std::optional<double> mean_correct; ///< Mean over right samples.
  std::optional<double> mean_wrong; ///< Mean over wrong samples.
  int64_t num_correct = 0; ///< Right samples.
  int64_t num_wrong = 0; ///< Wrong samples.
  std::string source; ///< "cnn" or "sdn_final".
  std::optional<double> std; ///< Population std of the confidence.
  int64_t wrong_above_correct_mean = 0; ///< Wrong, above the right mean.
};

/// The confusion metric (report.confusion); null figures are undefined.
struct Confusion {
  std::optional<double> auroc; ///< Confusion as a detector of errors.
  ConfidenceBaseline confidence; ///< The confidence baseline.
  std::optional<double> confidence_auroc; ///< = confidence.auroc.
  int64_t correct_above_wrong_mean = 0; ///< Right, above the wrong mean.
  std::optional<double> flag_rate; ///< Share flagged (the error rate).
  std::optional<double> fnr_confidence; ///< = confidence.fnr.
  std::optional<double> fnr_confusion; ///< Errors confusion misses.
  ConfusionHistogram histogram; ///< Of the normalised scores.
  std::optional<double> mean; ///< Mean normalised confusion.
  std::optional<double> mean_correct; ///< Over right samples.
  std::optional<double> mean_wrong; ///< Over wrong samples.
  Normalization normalization; ///< Raw statistics used.
  std::string normalized_with; ///< "train" or "test".
  int64_t num_correct = 0; ///< Right samples (final exit).
  int64_t num_wrong = 0; ///< Wrong samples (final exit).
  std::optional<double> std; ///< Std of the normalised confusion.
  int64_t wrong_below_correct_mean = 0; ///< Wrong, below the right mean.
};

/// The backdoor figures (report.backdoor, only with a trigger trace).
struct Backdoor {
  std::vector<std::optional<double>> attack_success; ///< [E] %.
  std::vector<std::optional<double>> clean_accuracy; ///< [E] %.
  Destructive destructive; ///< On the triggered trace.
  int64_t num_attacked = 0; ///< Triggered samples not of the target.
  int64_t target = 0; ///< The backdoor's target class.
  /// Its name, when the triggered trace's meta.json names the classes
  /// ("class_names"); JSON "target_name", left out when unknown.
  std::optional<std::string> target_name;
  TraceSummary trigger_trace; ///< The triggered trace.
  std::vector<std::optional<double>> triggered_accuracy; ///< [E] %.
};

/// Everything `sdn report` computes (`--json` prints its to_json).
struct Report {
  /// Left out of the JSON when empty; set by `--title` and the pipeline.
  std::optional<std::string> title;
  TraceSummary trace; ///< The report (test) trace.
  std::optional<TraceSummary> val_trace; ///< Selection trace, if any.
  std::optional<TraceSummary> cnn_trace; ///< The CNN's trace, if any.
  std::optional<TraceSummary> train_trace; ///< Train-split trace, if any.
  std::string selection; ///< "val" or "test": where budgets were chosen.
  std::string no_exit_rule; ///< "most-confident" or "final".
  std::vector<double> exit_cost; ///< [E] relative cumulative cost.
  std::vector<double> exit_cost_exact; ///< [E] or empty: exact MACs.
  std::vector<double> exit_accuracy; ///< [E] top-1 %.
  std::vector<double> exit_top5; ///< [E] top-5 %.
  std::optional<double> cnn_accuracy; ///< N.: the CNN's top-1 %.
  /// Null for a one-exit trace, as the next three.
  std::optional<std::vector<SweepRow>> sweep;
  std::optional<Budgets> budgets; ///< The paper's budget table.
  /// Every exit policy compared (by registered name; max-prob's equals
  /// `sweep` and `budgets` above). Null as `sweep`.
  std::optional<std::map<std::string, PolicyResult>> policies;
  std::optional<Calibration> calibration; ///< Per exit and early exit.
  std::optional<Overthinking> overthinking; ///< Wasteful / destructive.
  std::optional<Confusion> confusion; ///< The confusion metric.
  /// Left out of the JSON without a trigger trace.
  std::optional<Backdoor> backdoor;
  /// Left out of the JSON without an OOD trace.
  std::optional<Ood> ood;
  std::vector<std::string> warnings; ///< Fallbacks and mismatches.
};

/// JSON of each type (report_json.cpp): keys as named above; std::optional
/// members null when empty, except Report::title and Report::backdoor,
/// which are left out. Reading throws sdn::Error naming the path of a
/// missing key or a value of the wrong type.
void to_json(nlohmann::json& j, const TraceSummary& value);
/// Reads what to_json writes; throws sdn::Error naming a bad key.
void from_json(const nlohmann::json& j, TraceSummary& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const SweepRow& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, SweepRow& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const BudgetEntry& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, BudgetEntry& value);
/// Keys "0.25", "0.5", "0.75", "max" (budget_table_columns()).
void to_json(nlohmann::json& j, const Budgets& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, Budgets& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const PolicySweepRow& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, PolicySweepRow& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const PolicyBudget& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, PolicyBudget& value);
/// Keys "0.25", "0.5", "0.75" (policy_budget_columns()).
void to_json(nlohmann::json& j, const PolicyBudgets& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, PolicyBudgets& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const PolicyResult& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, PolicyResult& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const CalibrationBin& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, CalibrationBin& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const EarlyExitCalibrationRow& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, EarlyExitCalibrationRow& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const Calibration& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, Calibration& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const OodEarlyExitRow& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, OodEarlyExitRow& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const Ood& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, Ood& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const WastefulRow& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, WastefulRow& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const Wasteful& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, Wasteful& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const DestructiveRow& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, DestructiveRow& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const Destructive& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, Destructive& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const Overthinking& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, Overthinking& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const Normalization& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, Normalization& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const ConfusionHistogram& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, ConfusionHistogram& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const ConfidenceBaseline& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, ConfidenceBaseline& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const Confusion& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, Confusion& value);
/// As TraceSummary.
void to_json(nlohmann::json& j, const Backdoor& value);
/// As TraceSummary.
void from_json(const nlohmann::json& j, Backdoor& value);
/// As TraceSummary; "title", "backdoor" and "ood" only when set.
void to_json(nlohmann::json& j, const Report& value);
/// As TraceSummary; "title", "backdoor" and "ood" may be absent.
void from_json(const nlohmann::json& j, Report& value);

/// Reads a report written by `sdn report --json` (or the pipeline's
/// report-*.json); throws sdn::Error "SOURCE: missing key 'a.b'" or
/// "SOURCE: key 'a.b': expected number, found string".
Report report_from_json(const nlohmann::json& j, const std::string& source);

} // namespace sdn::report
