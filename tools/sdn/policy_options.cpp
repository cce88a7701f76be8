#include "policy_options.h"

#include "option_checks.h"
#include "sdn/util/error.h"

namespace sdn::cli {

namespace {

// "NAME: summary, range" lines of every registered policy, for --help.
std::string policy_help() {
  std::string text = "Exit policy:";
  for (const auto& type : analysis::exit_policy_types()) {
    text += "\n  " + type.name + ": " + type.summary +
        (type.range.integer ?
             str_cat(", a whole number >= ", type.range.low) :
             str_cat(", in [", type.range.low, ", ", type.range.high, "]"));
  }
  return text;
}

} // namespace

void PolicyOptions::add_to(CLI::App* sub, const std::string& samples) {
  sub->add_option("--policy", request.policy, policy_help())
      ->capture_default_str();
  param_option =
      sub->add_option("--param", param, "The policy's parameter (range above)")
          ->check(finite_number());
  threshold_option =
      sub->add_option(
             "--threshold",
             threshold,
             "Exit when the top softmax probability is >= this (the same as "
             "--policy max-prob --param Q)")
          ->check(in_range(0, 1));
  budget_option =
      sub->add_option(
             "--budget",
             budget,
             "Instead of --param: pick the policy's parameter (from its "
             "sweep grid) for this fraction of the CNN's cost on --val-trace: "
             "the most accurate within it (budget-fit: the one that spends "
             "most of it)")
          ->check(above(0));
  sub->add_option(
      "--val-trace",
      request.val_trace,
      "Validation trace: where --budget is chosen, and what budget-fit (and "
      "ensemble without --train-trace) are fitted on");
  sub->add_option(
      "--train-trace",
      request.train_trace,
      "Training-split trace the ensemble policy fits its weights on");
  sub->add_option(
         "--no-exit-rule",
         no_exit,
         "Answer of " + samples +
             " no IC takes: most-confident (original) or final")
      ->capture_default_str();
}

analysis::ExitPolicyRequest PolicyOptions::resolve() const {
  analysis::ExitPolicyRequest resolved = request;
  resolved.param = given(param_option, param);
  resolved.threshold = given(threshold_option, threshold);
  resolved.budget = given(budget_option, budget);
  resolved.rule = analysis::parse_no_exit_rule(no_exit);
  resolved.validate();
  return resolved;
}

void PolicyOptions::reject(const CLI::App& sub, const std::string& why) {
  reject_given(
      sub,
      {"--policy",
       "--param",
       "--threshold",
       "--budget",
       "--val-trace",
       "--train-trace",
       "--no-exit-rule"},
      why);
}

} // namespace sdn::cli
