#include "sdn/report/html_figures.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sdn::report::detail {

using svg::escape;

bool finite(double v) {
  return std::isfinite(v);
}

double max_finite(const std::vector<double>& v, double fallback) {
  double best = -std::numeric_limits<double>::infinity();
  for (double x : v) {
    if (finite(x)) {
      best = std::max(best, x);
    }
  }
  return finite(best) ? best : fallback;
}

double min_finite(const std::vector<double>& v, double fallback) {
  double best = std::numeric_limits<double>::infinity();
  for (double x : v) {
    if (finite(x)) {
      best = std::min(best, x);
    }
  }
  return finite(best) ? best : fallback;
}

double at(const std::vector<double>& v, size_t i) {
  return i < v.size() ? v[i] : kNaN;
}

svg::Axis category_axis(
    const std::string& label,
    const std::vector<std::string>& names) {
  svg::Axis axis;
  axis.label = label;
  axis.lo = -0.5;
  axis.hi = static_cast<double>(names.size()) - 0.5;
  axis.grid = false;
  for (size_t i = 0; i < names.size(); ++i) {
    axis.ticks.push_back({static_cast<double>(i), names[i]});
  }
  return axis;
}

std::vector<std::string> exit_labels(const Report& report, int n) {
  const std::vector<double>& costs = report.exit_cost;
  std::vector<std::string> labels;
  for (int i = 0; i < n; ++i) {
    std::string label = exit_name(i, n);
    const double c = at(costs, static_cast<size_t>(i));
    if (finite(c)) {
      label += " (" + svg::fixed(c * 100, 0) + " %)";
    }
    labels.push_back(label);
  }
  return labels;
}

void grouped_bars(
    svg::Plot& plot,
    const std::vector<std::vector<double>>& values,
    const std::vector<std::string>& names,
    const std::vector<std::string>& colors,
    const std::vector<std::string>& labels,
    const std::string& unit) {
  const double group = 0.8;
  const double width = group / static_cast<double>(values.size());
  for (size_t s = 0; s < values.size(); ++s) {
    for (size_t i = 0; i < values[s].size(); ++i) {
      const double v = values[s][i];
      const double x0 =
          static_cast<double>(i) - group / 2 + static_cast<double>(s) * width;
      plot.rect(
          x0 + 0.02,
          x0 + width - 0.02,
          0,
          v,
          colors[s],
          1.0,
          labels[i] + ", " + names[s] + ": " + svg::trimmed(v, 1) + unit);
    }
    plot.legend(names[s], colors[s]);
  }
}

double finite_or_nan(double value) {
  return finite(value) ? value : kNaN;
}

double finite_or_nan(const std::optional<double>& value) {
  return value ? finite_or_nan(*value) : kNaN;
}

std::optional<double> finite_value(const std::optional<double>& value) {
  return value && finite(*value) ? value : std::nullopt;
}

int exit_count(const Report& report) {
  size_t n = std::max(report.exit_cost.size(), report.exit_accuracy.size());
  const int64_t exits = report.trace.num_exits;
  if (exits > 0 && exits < 1000) {
    n = std::max(n, static_cast<size_t>(exits));
  }
  return static_cast<int>(n);
}

std::string exit_name(int i, int num_exits) {
  return i == num_exits - 1 ? "Final" : "IC" + std::to_string(i + 1);
}

std::string percent(double value) {
  return finite(value) ? svg::fixed(value, 1) + " %" : "-";
}

std::string fraction_percent(double value) {
  return finite(value) ? svg::fixed(value * 100, 1) + " %" : "-";
}

std::string cost(double value) {
  return svg::fixed(value, 3);
}

std::string plain(double value) {
  if (!finite(value)) {
    return "-";
  }
  if (value == std::round(value) && std::abs(value) < 1e15) {
    return svg::fixed(value, 0);
  }
  return svg::fixed(value, 3);
}

std::string Table::render() const {
  if (rows.empty()) {
    return "";
  }
  std::string out = "<table>";
  if (!caption.empty()) {
    out += "<caption>" + escape(caption) + "</caption>";
  }
  out += "<thead><tr>";
  for (const std::string& h : header) {
    out += "<th scope=\"col\">" + escape(h) + "</th>";
  }
  out += "</tr></thead><tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (size_t i = 0; i < row.size(); ++i) {
      out += i == 0 ? "<th scope=\"row\">" + escape(row[i]) + "</th>" :
                      "<td>" + escape(row[i]) + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

std::string figure(
    const std::string& title,
    const std::string& svg,
    const std::string& tables,
    const std::string& note,
    Layout layout,
    const std::string& lead_html) {
  const std::string body_class = svg.empty() ? "fig-body tables-only" :
      layout == Layout::kBelow               ? "fig-body below" :
                                               "fig-body";
  std::string out =
      "<figure class=\"fig\"><figcaption>" + escape(title) + "</figcaption>\n";
  out += lead_html;
  out += "<div class=\"" + body_class + "\">";
  if (!svg.empty()) {
    out += "<div class=\"fig-plot\">" + svg + "</div>";
  }
  if (!tables.empty()) {
    out += "<div class=\"fig-tables\">" + tables + "</div>";
  }
  out += "</div>\n";
  if (!note.empty()) {
    out += "<p class=\"note\">" + escape(note) + "</p>\n";
  }
  return out + "</figure>\n";
}

std::optional<BudgetPoint> budget(
    const Report& report,
    std::optional<BudgetEntry> Budgets::*entry) {
  if (!report.budgets) {
    return std::nullopt;
  }
  const std::optional<BudgetEntry>& chosen = (*report.budgets).*entry;
  if (!chosen || !finite(chosen->accuracy)) {
    return std::nullopt;
  }
  return BudgetPoint{
      finite_or_nan(chosen->threshold),
      chosen->accuracy,
      finite_or_nan(chosen->cost)};
}

std::string headline_cards(const Report& report) {
  std::vector<std::pair<std::string, std::string>> cards;
  const std::vector<double>& acc = report.exit_accuracy;
  if (!acc.empty() && finite(acc.back())) {
    cards.push_back({"SDN final exit", percent(acc.back())});
  }
  if (const auto cnn = finite_value(report.cnn_accuracy)) {
    cards.push_back({"CNN", percent(*cnn)});
  }
  if (const auto b = budget(report, &Budgets::half)) {
    cards.push_back(
        {"Early exit, cost <= 50 %",
         percent(b->accuracy) + " at " + cost(b->cost)});
  }
  if (report.overthinking) {
    if (const auto rate = finite_value(report.overthinking->destructive.rate)) {
      cards.push_back({"Destructive overthinking", fraction_percent(*rate)});
    }
  }
  if (report.confusion) {
    if (const auto auroc = finite_value(report.confusion->auroc)) {
      cards.push_back({"Confusion AUROC", svg::fixed(*auroc, 3)});
    }
  }
  if (cards.empty()) {
    return "";
  }
  std::string out = "<div class=\"cards\">";
  for (const auto& [label, value] : cards) {
    out += "<div class=\"card\"><div class=\"card-value\">" + escape(value) +
        "</div><div class=\"card-label\">" + escape(label) + "</div></div>";
  }
  return out + "</div>\n";
}

std::string run_table(const Report& report) {
  // The trace's facts in key order, as the JSON lists them.
  const TraceSummary& t = report.trace;
  Table table;
  table.header = {"Fact", "Value"};
  table.rows.push_back({"checkpoint", t.checkpoint});
  table.rows.push_back({"dir", t.dir});
  table.rows.push_back({"classes", plain(static_cast<double>(t.num_classes))});
  table.rows.push_back({"exits", plain(static_cast<double>(t.num_exits))});
  table.rows.push_back({"samples", plain(static_cast<double>(t.num_samples))});
  table.rows.push_back({"split", t.split});
  table.rows.push_back({"thresholds chosen on", report.selection});
  table.rows.push_back({"no-exit rule", report.no_exit_rule});
  return "<div class=\"run\">" + table.render() + "</div>\n";
}

} // namespace sdn::report::detail
