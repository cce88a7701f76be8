#pragma once

// Internal to the HTML pages of sdn: the figures (plot + tables) of one
// report and the helpers they share. html.cpp assembles them into a page;
// other pages in the same style (app/serve_bench.cpp, on
// report::render_page) reuse Table and figure().

#include "sdn/report/report_types.h"
#include "sdn/report/svg.h"

#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace sdn::report::detail {

/// A quiet NaN: the "missing" value of numeric series.
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
/// Reference lines and points (CNN, budgets) in near-black so they never
/// compete with the data colours.
constexpr const char* kReference = "#333";
/// Exit labels ("IC1 (15 %)") fit unrotated under up to this many exits of
/// a default-width plot.
constexpr int kUnrotatedExits = 8;

/// True for finite numbers (false for the NaN of missing values).
bool finite(double v);
/// The largest finite element, or `fallback` when there is none.
double max_finite(const std::vector<double>& v, double fallback);
/// The smallest finite element, or `fallback` when there is none.
double min_finite(const std::vector<double>& v, double fallback);
/// v[i], or NaN past the end.
double at(const std::vector<double>& v, size_t i);

/// A categorical x axis: one tick per name at 0..n-1, range [-0.5, n-0.5].
svg::Axis category_axis(
    const std::string& label,
    const std::vector<std::string>& names);

/// Exit labels with their relative cost from report.exit_cost: "IC1 (15 %)".
std::vector<std::string> exit_labels(const Report& report, int n);

/// Grouped bars from 0: series s of `values` at category i, with a legend
/// entry per series and tooltips "<label>, <name>: <value><unit>".
void grouped_bars(
    svg::Plot& plot,
    const std::vector<std::vector<double>>& values,
    const std::vector<std::string>& names,
    const std::vector<std::string>& colors,
    const std::vector<std::string>& labels,
    const std::string& unit);

/// `value` when finite, else NaN (the "missing" value of plotted series).
double finite_or_nan(double value);

/// `value` when it holds a finite number, else NaN.
double finite_or_nan(const std::optional<double>& value);

/// `value` when it holds a finite number, else nullopt.
std::optional<double> finite_value(const std::optional<double>& value);

/// The number of exits the report describes (from exit_cost, exit_accuracy
/// or trace.num_exits, whichever is largest); 0 when none.
int exit_count(const Report& report);

/// "IC1".."IC<n-1>" for i < n-1, "Final" for the last exit.
std::string exit_name(int i, int num_exits);

/// A percentage with one decimal and " %" ("-" for NaN).
std::string percent(double value);

/// A fraction in [0, 1] shown as a percentage with one decimal and " %".
std::string fraction_percent(double value);

/// A relative cost with three decimals.
std::string cost(double value);

/// A count or a free-form number: integers as such, others 3 decimals.
std::string plain(double value);

/// An HTML table: first column as row headers, cells HTML-escaped.
struct Table {
  std::string caption; ///< shown above the table; may be empty
  std::vector<std::string> header; ///< column titles
  std::vector<std::vector<std::string>> rows; ///< cells as plain text
  /// The <table> element ("" when there are no rows).
  std::string render() const;
};

/// Where a figure's tables go: beside the plot, or in a row under it (wide
/// tables, several tables).
enum class Layout { kSide, kBelow };

/// A figure block: title, an optional lead paragraph (HTML, already
/// escaped), the plot (may be empty), its tables and a note (plain text).
std::string figure(
    const std::string& title,
    const std::string& svg,
    const std::string& tables,
    const std::string& note,
    Layout layout = Layout::kSide,
    const std::string& lead_html = "");

/// Headline numbers of one report as cards ("" when none is present).
std::string headline_cards(const Report& report);

/// Run facts: report.trace's checkpoint, dir, counts and split, the
/// selection split and the no-exit rule, as a compact table.
std::string run_table(const Report& report);

/// Per-exit top-1/top-5 accuracy bars with the CNN as a reference line.
std::string accuracy_figure(const Report& report);

/// Accuracy against average cost (sweep), budgets marked, budget table.
std::string sweep_figure(const Report& report);

/// Every exit policy's accuracy against cost on one plot, and their budget
/// cells side by side ("" without report.policies).
std::string policies_figure(const Report& report);

/// Reliability diagram of every exit on one plot, ECE/KS per exit (before
/// and after temperature scaling) and of early exit ("" without
/// report.calibration).
std::string calibration_figure(const Report& report);

/// AUROC of telling OOD images from test images per exit, with the
/// confusion score and early exit ("" without report.ood).
std::string ood_figure(const Report& report);

/// Stacked exit distribution for a few thresholds of the sweep.
std::string distribution_figure(const Report& report);

/// Wasteful and destructive overthinking tables with a per-exit plot.
std::string overthinking_figure(const Report& report);

/// Overlaid confusion histograms for correct and wrong predictions.
std::string confusion_figure(const Report& report);

/// Backdoor attack success and clean accuracy per exit.
std::string backdoor_figure(const Report& report);

/// The (threshold, accuracy, cost) of a budget entry of report.budgets.
struct BudgetPoint {
  double threshold = 0.0; ///< confidence threshold chosen
  double accuracy = 0.0; ///< top-1 % at that threshold
  double cost = 0.0; ///< average relative cost at that threshold
};
/// The budget entry `entry` (&Budgets::half, ...) when the report has one
/// with a finite accuracy; non-finite thresholds and costs become NaN.
std::optional<BudgetPoint> budget(
    const Report& report,
    std::optional<BudgetEntry> Budgets::*entry);

} // namespace sdn::report::detail
