#include "sdn/report/html_figures.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sdn::report::detail {

using nlohmann::json;
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

std::vector<std::string> exit_labels(const json& report, int n) {
  const std::vector<double> costs = numbers(report, "exit_cost");
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

const json* field(const json& j, const char* key) {
  if (!j.is_object()) {
    return nullptr;
  }
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

std::optional<double> number(const json& j, const char* key) {
  const json* f = field(j, key);
  if (f == nullptr || !f->is_number()) {
    return std::nullopt;
  }
  const double v = f->get<double>();
  return finite(v) ? std::optional<double>(v) : std::nullopt;
}

std::vector<double> numbers(const json& j, const char* key) {
  const json* f = field(j, key);
  std::vector<double> out;
  if (f == nullptr || !f->is_array()) {
    return out;
  }
  for (const json& v : *f) {
    out.push_back(v.is_number() ? v.get<double>() : kNaN);
  }
  return out;
}

int exit_count(const json& report) {
  size_t n = std::max(
      numbers(report, "exit_cost").size(),
      numbers(report, "exit_accuracy").size());
  if (const json* trace = field(report, "trace")) {
    if (const auto exits = number(*trace, "num_exits")) {
      if (*exits > 0 && *exits < 1000) {
        n = std::max(n, static_cast<size_t>(*exits));
      }
    }
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

std::optional<BudgetPoint> budget(const json& report, const char* key) {
  const json* budgets = field(report, "budgets");
  if (budgets == nullptr) {
    return std::nullopt;
  }
  const json* entry = field(*budgets, key);
  if (entry == nullptr) {
    return std::nullopt;
  }
  const auto accuracy = number(*entry, "accuracy");
  if (!accuracy) {
    return std::nullopt;
  }
  return BudgetPoint{
      number(*entry, "threshold").value_or(kNaN),
      *accuracy,
      number(*entry, "cost").value_or(kNaN)};
}

std::string headline_cards(const json& report) {
  std::vector<std::pair<std::string, std::string>> cards;
  const std::vector<double> acc = numbers(report, "exit_accuracy");
  if (!acc.empty() && finite(acc.back())) {
    cards.push_back({"SDN final exit", percent(acc.back())});
  }
  if (const auto cnn = number(report, "cnn_accuracy")) {
    cards.push_back({"CNN", percent(*cnn)});
  }
  if (const auto b = budget(report, "0.5")) {
    cards.push_back(
        {"Early exit, cost <= 50 %",
         percent(b->accuracy) + " at " + cost(b->cost)});
  }
  const json* over = field(report, "overthinking");
  if (const json* d = over ? field(*over, "destructive") : nullptr) {
    if (const auto rate = number(*d, "rate")) {
      cards.push_back({"Destructive overthinking", fraction_percent(*rate)});
    }
  }
  if (const json* c = field(report, "confusion")) {
    if (const auto auroc = number(*c, "auroc")) {
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

namespace {
// "num_samples" -> "samples", "checkpoint_path" -> "checkpoint path".
std::string fact_name(std::string key) {
  if (key.rfind("num_", 0) == 0) {
    key.erase(0, 4);
  }
  std::replace(key.begin(), key.end(), '_', ' ');
  return key;
}
} // namespace

std::string run_table(const json& report) {
  Table table;
  table.header = {"Fact", "Value"};
  if (const json* trace = field(report, "trace")) {
    if (trace->is_object()) {
      for (const auto& [raw_key, value] : trace->items()) {
        const std::string key = fact_name(raw_key);
        if (value.is_string()) {
          table.rows.push_back({key, value.get<std::string>()});
        } else if (value.is_number()) {
          table.rows.push_back({key, plain(value.get<double>())});
        } else if (value.is_boolean()) {
          table.rows.push_back({key, value.get<bool>() ? "yes" : "no"});
        }
      }
    }
  }
  if (const json* s = field(report, "selection"); s && s->is_string()) {
    table.rows.push_back({"thresholds chosen on", s->get<std::string>()});
  }
  if (const json* r = field(report, "no_exit_rule"); r && r->is_string()) {
    table.rows.push_back({"no-exit rule", r->get<std::string>()});
  }
  if (table.rows.empty()) {
    return "";
  }
  return "<div class=\"run\">" + table.render() + "</div>\n";
}

} // namespace sdn::report::detail
