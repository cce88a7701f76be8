#include "sdn/report/report.h"

#include "sdn/analysis/backdoor.h"
#include "sdn/analysis/confusion.h"
#include "sdn/analysis/overthinking.h"
#include "sdn/util/error.h"

#include <cmath>
#include <utility>
#include <vector>

namespace sdn::report {

namespace {

using analysis::ExitTrace;
using nlohmann::json;

// The budget columns of the paper's table, as fractions of the CNN's cost.
const std::vector<std::pair<const char*, double>>& budget_columns() {
  static const std::vector<std::pair<const char*, double>> kColumns = {
      {"0.25", 0.25}, {"0.5", 0.5}, {"0.75", 0.75}};
  return kColumns;
}

// JSON has no NaN: undefined figures (empty groups) become null.
json num(double value) {
  return std::isfinite(value) ? json(value) : json(nullptr);
}

json nums(const std::vector<double>& values) {
  json out = json::array();
  for (const double v : values) {
    out.push_back(num(v));
  }
  return out;
}

json summary(const ExitTrace& trace, const std::string& dir) {
  return {
      {"dir", dir},
      {"split", trace.split},
      {"checkpoint", trace.checkpoint},
      {"num_samples", trace.num_samples},
      {"num_exits", trace.num_exits},
      {"num_classes", trace.num_classes},
      {"meta", trace.meta}};
}

json budget_json(const std::optional<analysis::BudgetChoice>& choice) {
  if (!choice) {
    return nullptr;
  }
  return {
      {"threshold", choice->param},
      {"accuracy", choice->accuracy},
      {"cost", choice->cost},
      {"selection_accuracy", choice->selection_accuracy},
      {"selection_cost", choice->selection_cost}};
}

json destructive_json(const analysis::DestructiveResult& d) {
  json per_exit = json::array();
  for (const auto& x : d.per_exit) {
    per_exit.push_back(
        {{"count", x.count},
         {"mean_confidence", num(x.mean_confidence)},
         {"mean_confidence_all_correct", num(x.mean_confidence_all_correct)}});
  }
  return {
      {"rate", num(d.rate)},
      {"wrong_final", d.wrong_final},
      {"rescued", d.rescued},
      {"per_exit", per_exit}};
}

json overthinking_json(const ExitTrace& trace) {
  const analysis::WastefulResult w = analysis::wasteful_overthinking(trace);
  json per_exit = json::array();
  for (const auto& x : w.per_exit) {
    per_exit.push_back(
        {{"correct", x.correct},
         {"cumulative_correct", x.cumulative_correct},
         {"first_correct", x.first_correct}});
  }
  json wasteful = {
      {"per_exit", per_exit},
      {"oracle_cost_nominal",
       w.oracle_cost_nominal ? json(*w.oracle_cost_nominal) : json(nullptr)},
      {"oracle_cost_measured", w.oracle_cost_measured},
      {"ic_correct_fraction", w.ic_correct_fraction}};
  return {
      {"wasteful", wasteful},
      {"destructive",
       destructive_json(analysis::destructive_overthinking(trace))},
      {"only_first_ic_correct", analysis::only_first_ic_correct(trace)}};
}

json detector_json(const analysis::DetectorSummary& d) {
  return {
      {"mean_correct", num(d.mean_correct)},
      {"mean_wrong", num(d.mean_wrong)},
      {"mean", num(d.mean)},
      {"std", num(d.std)},
      {"auroc", num(d.auroc)},
      {"fnr", num(d.fnr)},
      {"flag_rate", num(d.flag_rate)},
      {"num_correct", d.num_correct},
      {"num_wrong", d.num_wrong}};
}

json confusion_json(const analysis::ConfusionResult& c) {
  json confidence = detector_json(c.confidence.detector);
  confidence["source"] = c.confidence.source;
  confidence["correct_below_wrong_mean"] =
      c.confidence.correct_below_wrong_mean;
  confidence["wrong_above_correct_mean"] =
      c.confidence.wrong_above_correct_mean;
  const analysis::DetectorSummary& d = c.detector;
  return {
      {"normalized_with", c.normalized_with},
      {"normalization",
       {{"mean", c.normalization.mean}, {"std", c.normalization.std}}},
      {"mean_correct", num(d.mean_correct)},
      {"mean_wrong", num(d.mean_wrong)},
      {"mean", num(d.mean)},
      {"std", num(d.std)},
      {"auroc", num(d.auroc)},
      {"confidence_auroc", num(c.confidence.detector.auroc)},
      {"fnr_confusion", num(d.fnr)},
      {"fnr_confidence", num(c.confidence.detector.fnr)},
      {"flag_rate", num(d.flag_rate)},
      {"num_correct", d.num_correct},
      {"num_wrong", d.num_wrong},
      {"correct_above_wrong_mean", c.correct_above_wrong_mean},
      {"wrong_below_correct_mean", c.wrong_below_correct_mean},
      {"histogram",
       {{"edges", c.histogram.edges},
        {"correct", c.histogram.correct},
        {"wrong", c.histogram.wrong}}},
      {"confidence", confidence}};
}

json backdoor_json(
    const analysis::BackdoorResult& b,
    const ExitTrace& trigger,
    const std::string& dir) {
  return {
      {"trigger_trace", summary(trigger, dir)},
      {"target", b.target},
      {"num_attacked", b.num_attacked},
      {"attack_success", nums(b.attack_success)},
      {"clean_accuracy", nums(b.clean_accuracy)},
      {"triggered_accuracy", nums(b.triggered_accuracy)},
      {"destructive", destructive_json(b.destructive)}};
}

// A trace meant to accompany the report trace must come from the same kind
// of network: same exits and classes.
void check_same_network(
    const ExitTrace& other,
    const ExitTrace& trace,
    const char* what,
    json& warnings) {
  check(
      other.num_exits == trace.num_exits &&
          other.num_classes == trace.num_classes,
      "the ",
      what,
      " has ",
      other.num_exits,
      " exits and ",
      other.num_classes,
      " classes but the report trace has ",
      trace.num_exits,
      " and ",
      trace.num_classes);
  if (!other.checkpoint.empty() && !trace.checkpoint.empty() &&
      other.checkpoint != trace.checkpoint) {
    warnings.push_back(str_cat(
        "the ",
        what,
        " comes from checkpoint ",
        other.checkpoint,
        ", the report trace from ",
        trace.checkpoint));
  }
}

} // namespace

std::string to_string(Selection selection) {
  return selection == Selection::kTest ? "test" : "val";
}

Selection parse_selection(const std::string& text) {
  if (text == "val") {
    return Selection::kVal;
  }
  if (text == "test") {
    return Selection::kTest;
  }
  fail("select-on must be 'val' or 'test', got '", text, "'");
}

void ReportOptions::validate() const {
  check(!trace_dir.empty(), "trace: a trace directory is required");
  check(
      trigger_trace_dir.empty() || target >= 0,
      "target: the backdoor target class must be >= 0, got ",
      target);
}

ReportInputs load_report_inputs(const ReportOptions& options) {
  options.validate();
  ReportInputs in;
  in.trace = analysis::read_trace(options.trace_dir);
  auto load = [](const std::string& dir) -> std::optional<ExitTrace> {
    if (dir.empty()) {
      return std::nullopt;
    }
    return analysis::read_trace(dir);
  };
  in.val = load(options.val_trace_dir);
  in.cnn = load(options.cnn_trace_dir);
  in.train = load(options.train_trace_dir);
  in.trigger = load(options.trigger_trace_dir);
  return in;
}

nlohmann::json build_report(
    const ReportInputs& inputs,
    const ReportOptions& options) {
  const ExitTrace& trace = inputs.trace;
  trace.validate(
      options.trace_dir.empty() ? "report trace" : options.trace_dir);
  const analysis::NoExitRule rule = options.no_exit_rule;
  json warnings = json::array();
  json out;
  out["trace"] = summary(trace, options.trace_dir);

  Selection selection = options.select_on;
  if (selection == Selection::kVal && !inputs.val) {
    selection = Selection::kTest;
    warnings.push_back(
        "no validation trace (--val-trace): thresholds are selected on the "
        "test trace, as the original code does");
  }
  if (inputs.val) {
    check_same_network(*inputs.val, trace, "validation trace", warnings);
  }
  if (inputs.train) {
    check_same_network(*inputs.train, trace, "train trace", warnings);
  }
  if (inputs.trigger) {
    check_same_network(*inputs.trigger, trace, "trigger trace", warnings);
  }
  if (inputs.cnn) {
    const ExitTrace& cnn = *inputs.cnn;
    check(
        cnn.num_exits == 1,
        "the CNN trace must have exactly one exit, it has ",
        cnn.num_exits);
    check(
        cnn.num_samples == trace.num_samples &&
            cnn.num_classes == trace.num_classes && cnn.labels == trace.labels,
        "the CNN trace must cover the report trace's samples (same N, "
        "classes and labels); it has ",
        cnn.num_samples,
        " samples and ",
        cnn.num_classes,
        " classes vs ",
        trace.num_samples,
        " and ",
        trace.num_classes);
  }
  out["val_trace"] =
      inputs.val ? summary(*inputs.val, options.val_trace_dir) : json(nullptr);
  out["cnn_trace"] =
      inputs.cnn ? summary(*inputs.cnn, options.cnn_trace_dir) : json(nullptr);
  out["train_trace"] = inputs.train ?
      summary(*inputs.train, options.train_trace_dir) :
      json(nullptr);
  out["selection"] = to_string(selection);
  out["no_exit_rule"] = analysis::to_string(rule);
  out["exit_cost"] = trace.exit_cost;
  out["exit_cost_exact"] = trace.exit_cost_exact;
  out["exit_accuracy"] = analysis::exit_accuracy(trace);
  out["exit_top5"] = analysis::exit_topk_accuracy(trace, 5);
  if (inputs.cnn) {
    out["cnn_accuracy"] = analysis::exit_accuracy(*inputs.cnn).front();
  } else if (trace.num_exits == 1) {
    // A one-exit trace is itself the CNN.
    out["cnn_accuracy"] = analysis::exit_accuracy(trace).front();
  } else {
    out["cnn_accuracy"] = nullptr;
  }

  const bool has_ics = trace.num_exits >= 2;
  if (has_ics) {
    const std::vector<analysis::SweepPoint> report_sweep =
        analysis::sweep(trace, analysis::kMaxProbPolicy, rule);
    json sweep = json::array();
    for (const auto& p : report_sweep) {
      sweep.push_back(
          {{"threshold", p.param},
           {"accuracy", p.accuracy},
           {"cost", p.cost},
           {"exit_fraction", p.exit_fraction},
           {"paper_grid", analysis::is_paper_threshold(p.param)}});
    }
    out["sweep"] = sweep;
    const std::vector<analysis::SweepPoint> selection_sweep =
        selection == Selection::kVal ?
        analysis::sweep(*inputs.val, analysis::kMaxProbPolicy, rule) :
        report_sweep;
    json budgets = json::object();
    for (const auto& [key, budget] : budget_columns()) {
      budgets[key] = budget_json(analysis::choose_param(
          selection_sweep, analysis::kMaxProbPolicy, trace, budget, rule));
    }
    budgets["max"] = budget_json(analysis::choose_param(
        selection_sweep, analysis::kMaxProbPolicy, trace, std::nullopt, rule));
    out["budgets"] = budgets;
    out["overthinking"] = overthinking_json(trace);
    if (!inputs.train) {
      warnings.push_back(
          "no train trace (--train-trace): confusion is normalised with the "
          "test trace's own mean and std");
    }
    out["confusion"] = confusion_json(analysis::analyze_confusion(
        trace,
        inputs.train ? &*inputs.train : nullptr,
        inputs.cnn ? &*inputs.cnn : nullptr));
  } else {
    out["sweep"] = nullptr;
    out["budgets"] = nullptr;
    out["overthinking"] = nullptr;
    out["confusion"] = nullptr;
  }
  if (inputs.trigger) {
    out["backdoor"] = backdoor_json(
        analysis::analyze_backdoor(*inputs.trigger, trace, options.target),
        *inputs.trigger,
        options.trigger_trace_dir);
  }
  out["warnings"] = warnings;
  return out;
}

nlohmann::json build_report(const ReportOptions& options) {
  return build_report(load_report_inputs(options), options);
}

} // namespace sdn::report
