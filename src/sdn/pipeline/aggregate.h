#pragma once

// Figures of several runs of one experiment (sdn paper --seeds) as their
// spread: every number as mean, standard deviation, minimum and maximum
// over the runs, every claim's verdict counted over them.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace sdn::pipeline {

/// The spread of JSON documents of the same shape (the reports or
/// summaries of one pipeline run with different seeds), in that shape:
/// - where every run holds a number (or null: a figure the run could not
///   compute), {"mean", "sd", "min", "max", "n"} over the numbers, n of
///   them; sd is the sample standard deviation (n - 1 in the divisor),
///   null for n < 2; mean, min and max are null for n = 0;
/// - an array of the same length in every run: element by element;
/// - an object: key by key, over the keys every run has (a key some runs
///   lack is left out);
/// - anything else (strings, booleans, arrays of other lengths): the value
///   when every run has the same one, else {"values": [each run's]}.
/// Throws sdn::Error for no runs.
nlohmann::json spread(const std::vector<nlohmann::json>& runs);

/// The mean and spread of one figure, as spread() writes it.
struct Spread {
  double mean = 0;
  double sd = 0; ///< NaN when fewer than two runs had the figure.
  double min = 0;
  double max = 0;
  int n = 0; ///< How many runs had the figure.
};

/// Reads a {"mean", "sd", "min", "max", "n"} object of spread(); NaN where
/// it holds null. Throws sdn::Error naming `what` for anything else.
Spread read_spread(const nlohmann::json& value, const std::string& what);

/// "80.1 +- 0.4 (79.6 - 80.5)" with `precision` decimals; "-" when no run
/// had the figure, no "+-" part for a single run.
std::string format_spread(const Spread& s, int precision);

/// One of the paper's claims over several runs: {"claim", "supported",
/// "runs", "verdicts": [each run's], "measured": [each run's]}. `runs` are
/// the runs' summary.json "claims" arrays, each in assess_claims' order;
/// throws sdn::Error when they differ in length or in a claim's text.
nlohmann::json count_verdicts(const std::vector<nlohmann::json>& runs);

} // namespace sdn::pipeline
