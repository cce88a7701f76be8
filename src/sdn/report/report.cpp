#include "sdn/report/report.h"

#include "sdn/analysis/backdoor.h"
#include "sdn/analysis/calibration.h"
#include "sdn/analysis/confusion.h"
#include "sdn/analysis/ood.h"
#include "sdn/analysis/overthinking.h"
#include "sdn/util/error.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <utility>
#include <vector>

namespace sdn::report {

namespace {

using analysis::ExitTrace;

// Undefined figures (NaN: empty groups) are null in JSON.
std::optional<double> num(double value) {
  return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
}

std::vector<std::optional<double>> nums(const std::vector<double>& values) {
  std::vector<std::optional<double>> out;
  for (const double v : values) {
    out.push_back(num(v));
  }
  return out;
}

TraceSummary summary(const ExitTrace& trace, const std::string& dir) {
  TraceSummary s;
  s.dir = dir;
  s.split = trace.split;
  s.checkpoint = trace.checkpoint;
  s.num_samples = trace.num_samples;
  s.num_exits = trace.num_exits;
  s.num_classes = trace.num_classes;
  s.meta = trace.meta;
  return s;
}

std::optional<BudgetEntry> budget_entry(
    const std::optional<analysis::BudgetChoice>& choice) {
  if (!choice) {
    return std::nullopt;
  }
  BudgetEntry b;
  b.threshold = choice->param;
  b.accuracy = choice->accuracy;
  b.cost = choice->cost;
  b.selection_accuracy = choice->selection_accuracy;
  b.selection_cost = choice->selection_cost;
  return b;
}

Destructive destructive_section(const analysis::DestructiveResult& d) {
  Destructive out;
  for (const auto& x : d.per_exit) {
    out.per_exit.push_back(
        {x.count, num(x.mean_confidence), num(x.mean_confidence_all_correct)});
  }
  out.rate = num(d.rate);
  out.wrong_final = d.wrong_final;
  out.rescued = d.rescued;
  return out;
}

Overthinking overthinking_section(const ExitTrace& trace) {
  const analysis::WastefulResult w = analysis::wasteful_overthinking(trace);
  Overthinking out;
  for (const auto& x : w.per_exit) {
    out.wasteful.per_exit.push_back(
        {x.correct, x.cumulative_correct, x.first_correct});
  }
  out.wasteful.oracle_cost_nominal = w.oracle_cost_nominal;
  out.wasteful.oracle_cost_measured = w.oracle_cost_measured;
  out.wasteful.ic_correct_fraction = w.ic_correct_fraction;
  out.destructive =
      destructive_section(analysis::destructive_overthinking(trace));
  out.only_first_ic_correct = analysis::only_first_ic_correct(trace);
  return out;
}

// The fields a detector's summary shares between ConfidenceBaseline and
// Confusion (whose false-negative rates are named per detector).
template <typename Section>
void fill_detector(Section& out, const analysis::DetectorSummary& d) {
  out.mean_correct = num(d.mean_correct);
  out.mean_wrong = num(d.mean_wrong);
  out.mean = num(d.mean);
  out.std = num(d.std);
  out.auroc = num(d.auroc);
  out.flag_rate = num(d.flag_rate);
  out.num_correct = d.num_correct;
  out.num_wrong = d.num_wrong;
}

Confusion confusion_section(const analysis::ConfusionResult& c) {
  Confusion out;
  const analysis::DetectorSummary& cd = c.confidence.detector;
  ConfidenceBaseline& confidence = out.confidence;
  fill_detector(confidence, cd);
  confidence.fnr = num(cd.fnr);
  confidence.source = c.confidence.source;
  confidence.correct_below_wrong_mean = c.confidence.correct_below_wrong_mean;
  confidence.wrong_above_correct_mean = c.confidence.wrong_above_correct_mean;
  const analysis::DetectorSummary& d = c.detector;
  out.normalized_with = c.normalized_with;
  out.normalization = {c.normalization.mean, c.normalization.std};
  fill_detector(out, d);
  out.confidence_auroc = num(cd.auroc);
  out.fnr_confusion = num(d.fnr);
  out.fnr_confidence = num(cd.fnr);
  out.correct_above_wrong_mean = c.correct_above_wrong_mean;
  out.wrong_below_correct_mean = c.wrong_below_correct_mean;
  out.histogram = {c.histogram.correct, c.histogram.edges, c.histogram.wrong};
  return out;
}

Backdoor backdoor_section(
    const analysis::BackdoorResult& b,
    const ExitTrace& trigger,
    const std::string& dir) {
  Backdoor out;
  out.trigger_trace = summary(trigger, dir);
  out.target = b.target;
  // The trace's class names (meta.json "class_names", the trace's labels'
  // names in label order), when it has them.
  const auto names = trigger.meta.find("class_names");
  if (names != trigger.meta.end() && names->is_array() && b.target >= 0 &&
      b.target < static_cast<int64_t>(names->size()) &&
      (*names)[static_cast<size_t>(b.target)].is_string()) {
    out.target_name = (*names)[static_cast<size_t>(b.target)];
  }
  out.num_attacked = b.num_attacked;
  out.attack_success = nums(b.attack_success);
  out.clean_accuracy = nums(b.clean_accuracy);
  out.triggered_accuracy = nums(b.triggered_accuracy);
  out.destructive = destructive_section(b.destructive);
  return out;
}

// A trace meant to accompany the report trace must come from the same kind
// of network: same exits and classes.
// Whether two checkpoint paths name the same folder (./a/ and a, or a
// relative and an absolute path), as far as the file system can tell.
bool same_path(const std::string& a, const std::string& b) {
  std::error_code ea;
  std::error_code eb;
  const auto ca = std::filesystem::weakly_canonical(a, ea);
  const auto cb = std::filesystem::weakly_canonical(b, eb);
  return (ea || eb) ? a == b : ca == cb;
}

void check_same_network(
    const ExitTrace& other,
    const ExitTrace& trace,
    const char* what,
    std::vector<std::string>& warnings) {
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
      !same_path(other.checkpoint, trace.checkpoint)) {
    warnings.push_back(str_cat(
        "the ",
        what,
        " comes from checkpoint ",
        other.checkpoint,
        ", the report trace from ",
        trace.checkpoint));
  }
}

// report.policies[NAME] for one policy: its sweep on the report trace and
// its budgets chosen on the selection trace, fitted as its type says.
std::optional<PolicyResult> policy_result(
    const std::string& name,
    const ReportInputs& inputs,
    Selection selection,
    analysis::NoExitRule rule,
    std::vector<std::string>& warnings) {
  const ExitTrace& trace = inputs.trace;
  const analysis::ExitPolicyType& type = analysis::exit_policy_type(name);
  const std::vector<double> grid = type.grid(trace.num_exits);
  if (grid.empty()) {
    warnings.push_back(str_cat(
        "the ",
        name,
        " policy has no parameter for ",
        trace.num_exits,
        " exits: left out"));
    return std::nullopt;
  }
  PolicyResult out;
  analysis::FitTraces fit;
  const ExitTrace& selection_trace =
      selection == Selection::kVal ? *inputs.val : trace;
  const char* selection_name = selection == Selection::kVal ? "val" : "test";
  if (type.fit == analysis::PolicyFit::kValidation) {
    fit.val = &selection_trace;
    out.fitted_on = selection_name;
  } else if (type.fit == analysis::PolicyFit::kTraining) {
    if (inputs.train) {
      fit.train = &*inputs.train;
      out.fitted_on = "train";
    } else {
      fit.val = &selection_trace;
      out.fitted_on = selection_name;
    }
  }
  if (out.fitted_on && *out.fitted_on == "test") {
    warnings.push_back(str_cat(
        "the ",
        name,
        " policy is fitted on the test trace itself (",
        inputs.val ? "--select-on test" :
            type.fit == analysis::PolicyFit::kTraining ?
                     "no --train-trace or --val-trace" :
                     "no --val-trace",
        "): its test figures are optimistic"));
  }
  const auto maker = type.fitted(fit);
  const std::vector<analysis::SweepPoint> report_sweep =
      analysis::sweep(trace, *maker, rule, grid);
  for (const auto& p : report_sweep) {
    PolicySweepRow row;
    row.param = p.param;
    row.accuracy = p.accuracy;
    row.cost = p.cost;
    for (const double f : p.exit_fraction) {
      row.exit_share.push_back(100.0 * f);
    }
    out.sweep.push_back(std::move(row));
  }
  const std::vector<analysis::SweepPoint> selection_sweep =
      selection == Selection::kVal ?
      analysis::sweep(*inputs.val, *maker, rule, grid) :
      report_sweep;
  for (const PolicyBudgetColumn& column : policy_budget_columns()) {
    const auto choice = analysis::choose_param(
        selection_sweep,
        *maker,
        type.budget_pick,
        trace,
        column.fraction,
        rule);
    if (choice) {
      out.budgets.*column.entry =
          PolicyBudget{choice->param, choice->accuracy, choice->cost};
    }
  }
  return out;
}

// report.calibration: every exit, early exit over the sweep grid, and
// temperature scaling fitted on the validation trace when there is one.
Calibration calibration_section(
    const ExitTrace& trace,
    const std::optional<ExitTrace>& val,
    analysis::NoExitRule rule) {
  const bool has_ics = trace.num_exits >= 2;
  const analysis::CalibrationResult r = analysis::analyze_calibration(
      trace,
      has_ics ? analysis::sweep_thresholds() : std::vector<double>{},
      rule);
  Calibration out;
  out.ece = r.ece;
  out.ks = r.ks;
  for (const auto& exit_bins : r.bins) {
    std::vector<CalibrationBin>& bins = out.bins.emplace_back();
    for (const analysis::ReliabilityBin& b : exit_bins) {
      bins.push_back({b.low, b.high, b.count, b.accuracy, b.confidence});
    }
  }
  for (const analysis::EarlyExitCalibration& e : r.early_exit) {
    out.early_exit.push_back({e.threshold, e.ece, e.ks});
  }
  if (val) {
    const std::vector<double> t = analysis::fit_temperatures(*val);
    const analysis::CalibrationResult scaled = analysis::analyze_calibration(
        analysis::apply_temperatures(trace, t), {}, rule);
    out.temperature = t;
    out.ece_scaled = scaled.ece;
    out.ks_scaled = scaled.ks;
  }
  return out;
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
  check(!policies.empty(), "--policies: give at least one exit policy");
  for (size_t i = 0; i < policies.size(); ++i) {
    analysis::exit_policy_type(policies[i]);
    check(
        std::find(policies.begin(), policies.begin() + i, policies[i]) ==
            policies.begin() + i,
        "--policies: '",
        policies[i],
        "' is given twice");
  }
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
  in.ood = load(options.ood_trace_dir);
  return in;
}

Report build_report(const ReportInputs& inputs, const ReportOptions& options) {
  const ExitTrace& trace = inputs.trace;
  trace.validate(
      options.trace_dir.empty() ? "report trace" : options.trace_dir);
  const analysis::NoExitRule rule = options.no_exit_rule;
  Report out;
  std::vector<std::string>& warnings = out.warnings;
  out.trace = summary(trace, options.trace_dir);

  // Only --ood-trace takes an out-of-distribution trace: its labels (-1)
  // mean nothing to accuracies, budgets or statistics.
  check(
      !trace.ood,
      options.trace_dir.empty() ? std::string("the report trace") :
                                  options.trace_dir,
      " is an out-of-distribution trace; give it as --ood-trace beside an "
      "in-distribution --trace");
  for (const auto& [other, option] :
       std::vector<std::pair<const std::optional<ExitTrace>*, const char*>>{
           {&inputs.val, "--val-trace"},
           {&inputs.cnn, "--cnn-trace"},
           {&inputs.train, "--train-trace"},
           {&inputs.trigger, "--trigger-trace"}}) {
    check(
        !*other || !(*other)->ood,
        option,
        ": an out-of-distribution trace; only --ood-trace takes one");
  }
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
  // The report trace given again as a selection or fitting trace: every
  // choice is then made on the test set.
  for (const auto& [dir, option] :
       std::vector<std::pair<std::string, const char*>>{
           {options.val_trace_dir, "--val-trace"},
           {options.train_trace_dir, "--train-trace"}}) {
    if (!dir.empty() && !options.trace_dir.empty() &&
        same_path(dir, options.trace_dir)) {
      warnings.push_back(str_cat(
          option,
          " is the report trace itself: what is chosen or fitted on it is "
          "chosen on the test set, and its test figures are optimistic"));
    }
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
  if (inputs.val) {
    out.val_trace = summary(*inputs.val, options.val_trace_dir);
  }
  if (inputs.cnn) {
    out.cnn_trace = summary(*inputs.cnn, options.cnn_trace_dir);
  }
  if (inputs.train) {
    out.train_trace = summary(*inputs.train, options.train_trace_dir);
  }
  out.selection = to_string(selection);
  out.no_exit_rule = analysis::to_string(rule);
  out.exit_cost = trace.exit_cost;
  out.exit_cost_exact = trace.exit_cost_exact;
  out.exit_accuracy = analysis::exit_accuracy(trace);
  out.exit_top5 = analysis::exit_topk_accuracy(trace, 5);
  if (inputs.cnn) {
    out.cnn_accuracy = analysis::exit_accuracy(*inputs.cnn).front();
  } else if (trace.num_exits == 1) {
    // A one-exit trace is itself the CNN.
    out.cnn_accuracy = analysis::exit_accuracy(trace).front();
  }

  out.calibration = calibration_section(trace, inputs.val, rule);
  const bool has_ics = trace.num_exits >= 2;
  if (has_ics) {
    const std::vector<analysis::SweepPoint> report_sweep =
        analysis::sweep(trace, analysis::kMaxProbPolicy, rule);
    std::vector<SweepRow>& sweep = out.sweep.emplace();
    for (const auto& p : report_sweep) {
      sweep.push_back(
          {p.accuracy,
           p.cost,
           p.exit_fraction,
           analysis::is_paper_threshold(p.param),
           p.param});
    }
    const std::vector<analysis::SweepPoint> selection_sweep =
        selection == Selection::kVal ?
        analysis::sweep(*inputs.val, analysis::kMaxProbPolicy, rule) :
        report_sweep;
    Budgets& budgets = out.budgets.emplace();
    const auto max_prob =
        analysis::exit_policy_type(analysis::kMaxProbPolicy).fitted({});
    for (const BudgetColumn& column : budget_table_columns()) {
      budgets.*column.entry = budget_entry(analysis::choose_param(
          selection_sweep,
          *max_prob,
          analysis::BudgetPick::kBestAccuracy,
          trace,
          column.fraction,
          rule));
    }
    auto& policies = out.policies.emplace();
    for (const std::string& name : options.policies) {
      if (auto result =
              policy_result(name, inputs, selection, rule, warnings)) {
        policies.emplace(name, std::move(*result));
      }
    }
    out.overthinking = overthinking_section(trace);
    if (!inputs.train) {
      warnings.push_back(
          "no train trace (--train-trace): confusion is normalised with the "
          "test trace's own mean and std");
    }
    out.confusion = confusion_section(analysis::analyze_confusion(
        trace,
        inputs.train ? &*inputs.train : nullptr,
        inputs.cnn ? &*inputs.cnn : nullptr));
  }
  if (inputs.trigger) {
    out.backdoor = backdoor_section(
        analysis::analyze_backdoor(*inputs.trigger, trace, options.target),
        *inputs.trigger,
        options.trigger_trace_dir);
  }
  if (inputs.ood) {
    check(
        inputs.ood->ood,
        "--ood-trace ",
        options.ood_trace_dir,
        ": not an out-of-distribution trace (its meta.json lacks \"ood\": "
        "true; write one with sdn eval --ood-source)");
    check_same_network(*inputs.ood, trace, "OOD trace", warnings);
    const analysis::OodResult r = analysis::analyze_ood(
        trace,
        *inputs.ood,
        has_ics ? analysis::sweep_thresholds() : std::vector<double>{},
        rule);
    Ood& ood = out.ood.emplace();
    ood.source = inputs.ood->ood_source;
    ood.ood_trace = summary(*inputs.ood, options.ood_trace_dir);
    ood.auroc = r.auroc;
    for (const analysis::EarlyExitOod& e : r.early_exit) {
      ood.early_exit.push_back({e.threshold, e.auroc});
    }
    ood.confusion_auroc = r.confusion_auroc;
  }
  return out;
}

Report build_report(const ReportOptions& options) {
  return build_report(load_report_inputs(options), options);
}

} // namespace sdn::report
