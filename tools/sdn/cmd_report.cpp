// `sdn report`: every trace analysis (early-exit sweep and budgets,
// overthinking, confusion, backdoor) as tables or JSON.
#include "commands.h"

#include "sdn/analysis/early_exit.h"
#include "sdn/report/console.h"
#include "sdn/report/report.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

namespace sdn::cli {

namespace {

struct ReportArgs {
  report::ReportOptions options;
  std::string select_on = "val";
  std::string no_exit_rule = "most-confident";
  bool json = false;
};

void run_report(const ReportArgs& args) {
  report::ReportOptions options = args.options;
  options.select_on = report::parse_selection(args.select_on);
  options.no_exit_rule = analysis::parse_no_exit_rule(args.no_exit_rule);
  const nlohmann::json result = report::build_report(options);
  for (const auto& warning : result.at("warnings")) {
    std::fprintf(stderr, "warning: %s\n", warning.get<std::string>().c_str());
  }
  if (args.json) {
    std::cout << result.dump(2) << "\n";
  } else {
    report::print_report(std::cout, result);
  }
}

} // namespace

void setup_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* sub = app.add_subcommand(
      "report",
      "Analyse exit traces: per-exit accuracy, early-exit threshold sweep "
      "and budget table (thresholds chosen on a validation trace), wasteful "
      "and destructive overthinking, the confusion metric, backdoor "
      "figures.\nExample: sdn report --trace runs/c10_vgg/trace_test "
      "--val-trace runs/c10_vgg/trace_val --cnn-trace "
      "runs/c10_vgg_cnn/trace_test --json");
  sub->add_option(
         "--trace",
         args->options.trace_dir,
         "The report (test) trace directory")
      ->required();
  sub->add_option(
      "--val-trace",
      args->options.val_trace_dir,
      "Validation trace on which budget thresholds are chosen");
  sub->add_option(
      "--cnn-trace",
      args->options.cnn_trace_dir,
      "The plain CNN's trace on the same split (N. column, confidence "
      "baseline)");
  sub->add_option(
      "--train-trace",
      args->options.train_trace_dir,
      "Train-split trace whose confusion statistics normalise the scores");
  sub->add_option(
      "--trigger-trace",
      args->options.trigger_trace_dir,
      "Triggered test-set trace (true labels) for the backdoor figures");
  sub->add_option("--target", args->options.target, "Backdoor target class")
      ->capture_default_str();
  sub->add_option(
         "--select-on",
         args->select_on,
         "Trace that picks the budget thresholds: val (default) or test (the "
         "original's choice)")
      ->check(CLI::IsMember({"val", "test"}))
      ->capture_default_str();
  sub->add_option(
         "--no-exit-rule",
         args->no_exit_rule,
         "Who answers samples no IC takes: most-confident (the original's "
         "rule) or final")
      ->check(CLI::IsMember({"most-confident", "final"}))
      ->capture_default_str();
  sub->add_flag("--json", args->json, "Print the report as JSON");
  sub->callback([args] {
    apply_global_options();
    run_report(*args);
  });
}

} // namespace sdn::cli
