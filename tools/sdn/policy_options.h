#pragma once

// The exit-policy options `sdn exit` and `sdn serve` share: --policy,
// --param, --threshold, --budget, --val-trace, --train-trace and
// --no-exit-rule, read into an analysis::ExitPolicyRequest
// (analysis/early_exit.h, docs/exit-trace.md#exit-policies).

#include "sdn/analysis/early_exit.h"
#include "sdn/analysis/exit_policy.h"

#include <CLI/CLI.hpp>

#include <string>

namespace sdn::cli {

/// The options' values until the command runs; given or not is each
/// option's count(), the request holds them as optionals.
struct PolicyOptions {
  analysis::ExitPolicyRequest request;
  double param = 0;
  double threshold = 0;
  double budget = 0;
  std::string no_exit = "most-confident";
  CLI::Option* param_option = nullptr;
  CLI::Option* threshold_option = nullptr;
  CLI::Option* budget_option = nullptr;

  /// Adds the options to `sub`; `samples` names what exits ("samples",
  /// "images") in the help of --no-exit-rule.
  void add_to(CLI::App* sub, const std::string& samples);

  /// The request with what was given (param, threshold, budget, the
  /// no-exit rule), validated. Throws sdn::Error naming the option.
  analysis::ExitPolicyRequest resolve() const;

  /// Throws sdn::Error "OPTION has no effect WHY" for the first of these
  /// options given to `sub` (where no exit policy runs: the plain CNN).
  static void reject(const CLI::App& sub, const std::string& why);
};

} // namespace sdn::cli
