#pragma once

// Figures of several runs of one experiment (sdn paper --seeds) as their
// spread: every number as mean, standard deviation, minimum and maximum
// over the runs, every claim's verdict counted over them.

#include "sdn/pipeline/paper.h"

#include <nlohmann/json.hpp>

#include <ostream>
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

/// One row of the regimes' figure table: its label, the figure's JSON
/// pointer in a report ("/budgets/0.5/accuracy"), decimals, and whether a
/// higher value is better (+1), lower (-1) or neither (0).
struct FigureRow {
  std::string label;
  std::string key;
  int precision = 2;
  int better = 0;
};

/// The rows of the figure table: accuracy and cost at the 25/50/75 %
/// budgets and the best accuracy of any threshold, destructive share,
/// confusion's AUROC and its baseline's, the CNN's confidence.
const std::vector<FigureRow>& figure_rows();

/// Figure `key` (a JSON pointer) of one network's spread report as
/// format_spread writes it; "-" when the report lacks it.
std::string spread_cell(
    const nlohmann::json& spread_report,
    const std::string& key,
    int precision);

/// The regime whose mean of figure `row` is best (FigureRow::better), by
/// title ("A = B" for a tie); "-" when the row has no direction or no
/// regime has the figure.
std::string best_regime(
    const std::vector<Regime>& regimes,
    const nlohmann::json& spread_reports,
    const FigureRow& row);

/// Markdown tables of the regimes side by side: accuracy per exit (and the
/// CNN's), then figure_rows() with the best regime per row.
/// `spread_reports`: {Regime::key: spread() of that regime's reports}
/// (one run: a spread of one). Throws sdn::Error for a regime missing.
void print_regime_tables(
    std::ostream& out,
    const std::vector<Regime>& regimes,
    const nlohmann::json& spread_reports);

} // namespace sdn::pipeline
