// The JSON form of the report types, each in one place. nlohmann keeps
// object keys sorted, so the order members are listed in does not change
// the output.
#include "sdn/report/report_types.h"

#include "sdn/util/json_fields.h"

namespace sdn::report {

using json_fields::read_field;
using json_fields::read_optional_field;
using json_fields::write_field;
using json_fields::write_optional_field;
using nlohmann::json;

const std::vector<BudgetColumn>& budget_table_columns() {
  static const std::vector<BudgetColumn> kColumns = {
      {"0.25", 0.25, &Budgets::quarter},
      {"0.5", 0.5, &Budgets::half},
      {"0.75", 0.75, &Budgets::three_quarters},
      {"max", std::nullopt, &Budgets::max}};
  return kColumns;
}

SDN_JSON_FIELDS(
    TraceSummary,
    checkpoint,
    dir,
    meta,
    num_classes,
    num_exits,
    num_samples,
    split)

SDN_JSON_FIELDS(SweepRow, accuracy, cost, exit_fraction, paper_grid, threshold)

SDN_JSON_FIELDS(
    BudgetEntry,
    accuracy,
    cost,
    selection_accuracy,
    selection_cost,
    threshold)

// Keys that are not identifiers.
void to_json(json& j, const Budgets& value) {
  j = json::object();
  for (const BudgetColumn& column : budget_table_columns()) {
    write_field(j, column.key, value.*column.entry);
  }
}

void from_json(const json& j, Budgets& value) {
  for (const BudgetColumn& column : budget_table_columns()) {
    read_field(j, column.key, value.*column.entry);
  }
}

const std::vector<PolicyBudgetColumn>& policy_budget_columns() {
  static const std::vector<PolicyBudgetColumn> kColumns = {
      {"0.25", 0.25, &PolicyBudgets::quarter},
      {"0.5", 0.5, &PolicyBudgets::half},
      {"0.75", 0.75, &PolicyBudgets::three_quarters}};
  return kColumns;
}

SDN_JSON_FIELDS(PolicySweepRow, param, accuracy, cost, exit_share)

SDN_JSON_FIELDS(PolicyBudget, param, accuracy, cost)

void to_json(json& j, const PolicyBudgets& value) {
  j = json::object();
  for (const PolicyBudgetColumn& column : policy_budget_columns()) {
    write_field(j, column.key, value.*column.entry);
  }
}

void from_json(const json& j, PolicyBudgets& value) {
  for (const PolicyBudgetColumn& column : policy_budget_columns()) {
    read_field(j, column.key, value.*column.entry);
  }
}

SDN_JSON_FIELDS(PolicyResult, fitted_on, sweep, budgets)

SDN_JSON_FIELDS(CalibrationBin, low, high, count, accuracy, confidence)

SDN_JSON_FIELDS(EarlyExitCalibrationRow, threshold, ece, ks)

SDN_JSON_FIELDS(
    Calibration,
    ece,
    ks,
    bins,
    early_exit,
    temperature,
    ece_scaled,
    ks_scaled)

SDN_JSON_FIELDS(OodEarlyExitRow, threshold, auroc)

SDN_JSON_FIELDS(Ood, source, ood_trace, auroc, early_exit, confusion_auroc)

SDN_JSON_FIELDS(WastefulRow, correct, cumulative_correct, first_correct)

SDN_JSON_FIELDS(
    Wasteful,
    ic_correct_fraction,
    oracle_cost_measured,
    oracle_cost_nominal,
    per_exit)

SDN_JSON_FIELDS(
    DestructiveRow,
    count,
    mean_confidence,
    mean_confidence_all_correct)

SDN_JSON_FIELDS(Destructive, per_exit, rate, rescued, wrong_final)

SDN_JSON_FIELDS(Overthinking, destructive, only_first_ic_correct, wasteful)

SDN_JSON_FIELDS(Normalization, mean, std)

SDN_JSON_FIELDS(ConfusionHistogram, correct, edges, wrong)

SDN_JSON_FIELDS(
    ConfidenceBaseline,
    auroc,
    correct_below_wrong_mean,
    flag_rate,
    fnr,
    mean,
    mean_correct,
    mean_wrong,
    num_correct,
    num_wrong,
    source,
    std,
    wrong_above_correct_mean)

SDN_JSON_FIELDS(
    Confusion,
    auroc,
    confidence,
    confidence_auroc,
    correct_above_wrong_mean,
    flag_rate,
    fnr_confidence,
    fnr_confusion,
    histogram,
    mean,
    mean_correct,
    mean_wrong,
    normalization,
    normalized_with,
    num_correct,
    num_wrong,
    std,
    wrong_below_correct_mean)

// By hand: "target_name" is left out when unknown (and in older reports).
void to_json(json& j, const Backdoor& value) {
  j = json::object();
  write_field(j, "attack_success", value.attack_success);
  write_field(j, "clean_accuracy", value.clean_accuracy);
  write_field(j, "destructive", value.destructive);
  write_field(j, "num_attacked", value.num_attacked);
  write_field(j, "target", value.target);
  write_optional_field(j, "target_name", value.target_name);
  write_field(j, "trigger_trace", value.trigger_trace);
  write_field(j, "triggered_accuracy", value.triggered_accuracy);
}

void from_json(const json& j, Backdoor& value) {
  read_field(j, "attack_success", value.attack_success);
  read_field(j, "clean_accuracy", value.clean_accuracy);
  read_field(j, "destructive", value.destructive);
  read_field(j, "num_attacked", value.num_attacked);
  read_field(j, "target", value.target);
  read_optional_field(j, "target_name", value.target_name);
  read_field(j, "trigger_trace", value.trigger_trace);
  read_field(j, "triggered_accuracy", value.triggered_accuracy);
}

// By hand: "title", "backdoor" and "ood" are left out when empty, not null.
void to_json(json& j, const Report& value) {
  j = json::object();
  write_optional_field(j, "title", value.title);
  write_field(j, "trace", value.trace);
  write_field(j, "val_trace", value.val_trace);
  write_field(j, "cnn_trace", value.cnn_trace);
  write_field(j, "train_trace", value.train_trace);
  write_field(j, "selection", value.selection);
  write_field(j, "no_exit_rule", value.no_exit_rule);
  write_field(j, "exit_cost", value.exit_cost);
  write_field(j, "exit_cost_exact", value.exit_cost_exact);
  write_field(j, "exit_accuracy", value.exit_accuracy);
  write_field(j, "exit_top5", value.exit_top5);
  write_field(j, "cnn_accuracy", value.cnn_accuracy);
  write_field(j, "sweep", value.sweep);
  write_field(j, "budgets", value.budgets);
  write_field(j, "policies", value.policies);
  write_field(j, "calibration", value.calibration);
  write_field(j, "overthinking", value.overthinking);
  write_field(j, "confusion", value.confusion);
  write_optional_field(j, "backdoor", value.backdoor);
  write_optional_field(j, "ood", value.ood);
  write_field(j, "warnings", value.warnings);
}

void from_json(const json& j, Report& value) {
  read_optional_field(j, "title", value.title);
  read_field(j, "trace", value.trace);
  read_field(j, "val_trace", value.val_trace);
  read_field(j, "cnn_trace", value.cnn_trace);
  read_field(j, "train_trace", value.train_trace);
  read_field(j, "selection", value.selection);
  read_field(j, "no_exit_rule", value.no_exit_rule);
  read_field(j, "exit_cost", value.exit_cost);
  read_field(j, "exit_cost_exact", value.exit_cost_exact);
  read_field(j, "exit_accuracy", value.exit_accuracy);
  read_field(j, "exit_top5", value.exit_top5);
  read_field(j, "cnn_accuracy", value.cnn_accuracy);
  read_field(j, "sweep", value.sweep);
  read_field(j, "budgets", value.budgets);
  read_field(j, "policies", value.policies);
  read_field(j, "calibration", value.calibration);
  read_field(j, "overthinking", value.overthinking);
  read_field(j, "confusion", value.confusion);
  read_optional_field(j, "backdoor", value.backdoor);
  read_optional_field(j, "ood", value.ood);
  read_field(j, "warnings", value.warnings);
}

Report report_from_json(const json& j, const std::string& source) {
  Report report;
  try {
    json_fields::read_value(j, report);
  } catch (const json_fields::FieldError& e) {
    fail(source, ": ", e.path().empty() ? "the report: " : "", e.what());
  }
  return report;
}

} // namespace sdn::report
