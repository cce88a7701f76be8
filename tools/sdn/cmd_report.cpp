// `sdn report`: every trace analysis (early-exit sweep and budgets,
// every exit policy, calibration, overthinking, confusion, backdoor, OOD
// detection) as tables, JSON or an HTML page.
#include "commands.h"
#include "option_checks.h"

#include "sdn/analysis/early_exit.h"
#include "sdn/app/explain.h"
#include "sdn/app/image_grids.h"
#include "sdn/report/console.h"
#include "sdn/report/html.h"
#include "sdn/report/report.h"
#include "sdn/util/error.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
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
  std::string html;
  std::string title;
  int64_t grid_images = 8;
};

// Refuses an --html page that would land inside one of the report's input
// trace folders (it could replace probs.npy or meta.json).
void check_html_destination(const ReportArgs& args) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path page = fs::weakly_canonical(args.html, ec);
  const auto& o = args.options;
  for (const std::string* dir :
       {&o.trace_dir,
        &o.val_trace_dir,
        &o.cnn_trace_dir,
        &o.train_trace_dir,
        &o.trigger_trace_dir,
        &o.ood_trace_dir}) {
    if (dir->empty() || ec) {
      continue;
    }
    std::error_code ec2;
    const fs::path folder = fs::weakly_canonical(*dir, ec2);
    check(
        ec2 || page.parent_path() != folder,
        "--html ",
        args.html,
        ": inside the trace folder ",
        *dir,
        "; write the page elsewhere");
  }
}

void run_report(const ReportArgs& args) {
  report::ReportOptions options = args.options;
  options.select_on = report::parse_selection(args.select_on);
  options.no_exit_rule = analysis::parse_no_exit_rule(args.no_exit_rule);
  options.validate();
  if (!args.html.empty()) {
    check_html_destination(args);
  }
  const auto inputs = report::load_report_inputs(options);
  report::Report result = report::build_report(inputs, options);
  if (!args.title.empty()) {
    result.title = args.title;
  }
  for (const std::string& warning : result.warnings) {
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  }
  // The page first: a page that cannot be written is an error before
  // anything reaches stdout, so a pipeline never reads a report from a
  // failed command.
  if (!args.html.empty()) {
    report::HtmlSection section;
    section.title = args.title;
    section.report = result;
    data::DatasetInfo info;
    std::string why;
    if (const auto images = sdn::app::trace_images(inputs.trace, info, why)) {
      section.grids = sdn::app::make_image_grids(
          inputs.trace, *images, info, args.grid_images);
      sdn::app::append_grad_cam_grid(
          section.grids,
          inputs.trace,
          inputs.trace.checkpoint,
          *images,
          info,
          args.grid_images);
    } else {
      std::fprintf(stderr, "warning: no image grids: %s\n", why.c_str());
    }
    report::HtmlOptions html;
    html.title = args.title.empty() ? "sdn report" : args.title;
    html.subtitle = "trace " + options.trace_dir;
    report::write_html(args.html, {section}, html);
    std::fprintf(stderr, "report: %s\n", args.html.c_str());
  }
  if (args.json) {
    std::cout << nlohmann::json(result).dump(2) << "\n";
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
      "and budget table (thresholds chosen on a validation trace), every "
      "exit policy side by side (max-prob, entropy, patience, budget-fit, "
      "ensemble), calibration (ECE, KS, temperature scaling), wasteful and "
      "destructive overthinking, the confusion metric, OOD detection "
      "(--ood-trace), backdoor figures; --html adds plots, image and "
      "Grad-CAM grids.\nExample: sdn report --trace runs/c10_vgg/trace_test "
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
  sub->add_option(
      "--ood-trace",
      args->options.ood_trace_dir,
      "An out-of-distribution trace of the same network (sdn eval "
      "--ood-source) for the OOD-detection figures");
  sub->add_option("--target", args->options.target, "Backdoor target class")
      ->capture_default_str()
      ->check(at_least(0));
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
  sub->add_option(
         "--policies",
         args->options.policies,
         "Exit policies to compare, comma-separated (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember(analysis::exit_policy_names()))
      ->capture_default_str();
  sub->add_flag("--json", args->json, "Print the report as JSON");
  sub->add_option(
      "--html",
      args->html,
      "Also write a self-contained HTML page with plots and image grids");
  sub->add_option("--title", args->title, "Title of the report");
  sub->add_option(
         "--grid-images",
         args->grid_images,
         "Images per exit in the page's image grids")
      ->capture_default_str()
      ->check(at_least(0));
  sub->callback([args, sub] {
    if (args->html.empty()) {
      reject_given(*sub, {"--grid-images", "--title"}, "without --html");
    }
    if (args->options.trigger_trace_dir.empty()) {
      reject_given(*sub, {"--target"}, "without --trigger-trace");
    }
    apply_global_options();
    run_report(*args);
  });
}

} // namespace sdn::cli
