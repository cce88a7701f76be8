#pragma once

// The analysis report: every trace analysis gathered into one Report
// (report_types.h; printed by `sdn report --json`, tabulated by
// report/console.h, plotted by the HTML page). Schema: docs/exit-trace.md.

#include "sdn/analysis/early_exit.h"
#include "sdn/analysis/exit_trace.h"
#include "sdn/report/report_types.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sdn::report {

/// Which trace picks the thresholds of the budget table.
enum class Selection {
  kVal, ///< The validation trace (ours; falls back to test without one).
  kTest, ///< The test trace itself (the original's choice).
};

/// "val" or "test".
std::string to_string(Selection selection);

/// Parses "val" / "test"; throws sdn::Error otherwise.
Selection parse_selection(const std::string& text);

/// What `sdn report` analyses and how.
struct ReportOptions {
  std::string trace_dir; ///< The report (test) trace; required.
  std::string val_trace_dir; ///< Selection trace; optional.
  std::string cnn_trace_dir; ///< The CNN's trace (E = 1); optional.
  std::string train_trace_dir; ///< Train split, for confusion; optional.
  std::string trigger_trace_dir; ///< Triggered test set; optional.
  /// An out-of-distribution trace of the same network; optional.
  std::string ood_trace_dir;
  Selection select_on = Selection::kVal; ///< Where budgets are chosen.
  /// Who answers samples no IC takes.
  analysis::NoExitRule no_exit_rule = analysis::NoExitRule::kMostConfident;
  int64_t target = 5; ///< Backdoor target class (with trigger_trace_dir).
  /// The exit policies compared in report.policies (registered names).
  std::vector<std::string> policies = analysis::exit_policy_names();

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// The traces a report reads, loaded.
struct ReportInputs {
  analysis::ExitTrace trace; ///< The report (test) trace.
  std::optional<analysis::ExitTrace> val; ///< Selection trace.
  std::optional<analysis::ExitTrace> cnn; ///< CNN trace.
  std::optional<analysis::ExitTrace> train; ///< Train-split trace.
  std::optional<analysis::ExitTrace> trigger; ///< Triggered test trace.
  std::optional<analysis::ExitTrace> ood; ///< Out-of-distribution trace.
};

/// Reads every trace `options` names (validating each).
ReportInputs load_report_inputs(const ReportOptions& options);

/// Builds the report from loaded traces. Diagnostics (fallbacks, mismatched
/// checkpoints) go into its warnings; throws sdn::Error when traces do not
/// fit together (different exits or classes, a CNN trace with ICs or over
/// other samples).
Report build_report(const ReportInputs& inputs, const ReportOptions& options);

/// Validates `options`, loads the traces and builds the report.
Report build_report(const ReportOptions& options);

} // namespace sdn::report
