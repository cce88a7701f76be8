#include "sdn/report/console.h"

#include "sdn/analysis/exit_policy.h"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace sdn::report {

namespace {

// Formats a number with printf `spec`.
std::string fmt(double value, const char* spec) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), spec, value);
  return buf;
}

// "-" for undefined (null) figures.
std::string fmt(const std::optional<double>& value, const char* spec) {
  return value ? fmt(*value, spec) : "-";
}

// v[i] as an optional: "-" past the end rather than a crash on a report
// whose arrays disagree in length.
template <typename T>
std::optional<double> element(const std::vector<T>& v, size_t i) {
  if (i >= v.size()) {
    return std::nullopt;
  }
  return std::optional<double>(v[i]);
}

std::string pad(const std::string& text, int width) {
  if (static_cast<int>(text.size()) >= width) {
    return text + " ";
  }
  return std::string(static_cast<size_t>(width) - text.size(), ' ') + text;
}

std::string left(const std::string& text, int width) {
  if (static_cast<int>(text.size()) >= width) {
    return text + " ";
  }
  return text + std::string(static_cast<size_t>(width) - text.size(), ' ');
}

std::string exit_name(size_t e, size_t num_exits) {
  return e + 1 == num_exits ? "final" : "IC" + std::to_string(e + 1);
}

std::string text_or(const std::string& value, const char* fallback) {
  return value.empty() ? fallback : value;
}

void print_header(std::ostream& out, const Report& r) {
  const TraceSummary& t = r.trace;
  out << "Trace " << text_or(t.dir, "(in memory)") << " (split "
      << text_or(t.split, "?") << ", checkpoint " << text_or(t.checkpoint, "?")
      << "): " << t.num_samples << " samples, " << t.num_exits << " exits, "
      << t.num_classes << " classes\n";
  out << "Thresholds selected on: " << r.selection
      << "; samples no IC takes answered by: " << r.no_exit_rule << "\n\n";
}

void print_exits(std::ostream& out, const Report& r) {
  const std::vector<double>& cost = r.exit_cost;
  out << "Per exit (cost relative to the CNN; accuracy %)\n"
      << left("exit", 7) << pad("cost", 8) << pad("exact", 8) << pad("top-1", 8)
      << pad("top-5", 8) << "\n";
  for (size_t e = 0; e < cost.size(); ++e) {
    out << left(exit_name(e, cost.size()), 7) << pad(fmt(cost[e], "%.3f"), 8)
        << pad(fmt(element(r.exit_cost_exact, e), "%.3f"), 8)
        << pad(fmt(element(r.exit_accuracy, e), "%.2f"), 8)
        << pad(fmt(element(r.exit_top5, e), "%.2f"), 8) << "\n";
  }
  out << "\n";
}

void print_sweep(std::ostream& out, const Report& r) {
  if (!r.sweep) {
    return;
  }
  const size_t num_exits = r.exit_cost.size();
  out << "Early exit on the paper's grid (--json has the fine grid); % of "
         "samples leaving at each exit, 'none': no IC took them\n"
      << pad("q", 7) << pad("acc %", 8) << pad("cost", 7);
  for (size_t e = 0; e < num_exits; ++e) {
    out << pad(e + 1 == num_exits ? "none" : exit_name(e, num_exits), 7);
  }
  out << "\n";
  for (const SweepRow& p : *r.sweep) {
    if (!p.paper_grid) {
      continue;
    }
    out << pad(fmt(p.threshold, "%.3f"), 7) << pad(fmt(p.accuracy, "%.2f"), 8)
        << pad(fmt(p.cost, "%.3f"), 7);
    for (const double f : p.exit_fraction) {
      out << pad(fmt(100.0 * f, "%.1f"), 7);
    }
    out << "\n";
  }
  out << "\n";
}

void print_budgets(std::ostream& out, const Report& r) {
  if (!r.budgets) {
    return;
  }
  const Budgets& budgets = *r.budgets;
  const std::vector<BudgetColumn>& columns = budget_table_columns();
  const char* titles[] = {"<=25%", "<=50%", "<=75%", "Max"};
  out << "Budget table (thresholds picked on " << r.selection
      << ", figures on the report trace)\n"
      << left("", 6) << pad("N.", 9);
  for (const char* title : titles) {
    out << pad(title, 9);
  }
  // A figure of a column's entry, "-" when no threshold fits.
  const auto cell = [&](const BudgetColumn& column,
                        double BudgetEntry::*figure,
                        const char* spec) {
    const std::optional<BudgetEntry>& entry = budgets.*column.entry;
    return pad(entry ? fmt((*entry).*figure, spec) : "-", 9);
  };
  out << "\n" << left("acc %", 6) << pad(fmt(r.cnn_accuracy, "%.2f"), 9);
  for (const BudgetColumn& column : columns) {
    out << cell(column, &BudgetEntry::accuracy, "%.2f");
  }
  out << "\n" << left("cost", 6) << pad(r.cnn_accuracy ? "1.000" : "-", 9);
  for (const BudgetColumn& column : columns) {
    out << cell(column, &BudgetEntry::cost, "%.3f");
  }
  out << "\n" << left("q", 6) << pad("-", 9);
  for (const BudgetColumn& column : columns) {
    out << cell(column, &BudgetEntry::threshold, "%.4g");
  }
  out << "\n\n";
}

void print_destructive(
    std::ostream& out,
    const Destructive& d,
    const char* title) {
  out << title << ": " << d.rescued << " of " << d.wrong_final
      << " final-exit errors are right at some IC (rate " << fmt(d.rate, "%.3f")
      << ")\n"
      << left("exit", 7) << pad("count", 8) << pad("conf", 8)
      << pad("conf(all right)", 16) << "\n";
  for (size_t e = 0; e < d.per_exit.size(); ++e) {
    const DestructiveRow& x = d.per_exit[e];
    out << left("IC" + std::to_string(e + 1), 7)
        << pad(std::to_string(x.count), 8)
        << pad(fmt(x.mean_confidence, "%.3f"), 8)
        << pad(fmt(x.mean_confidence_all_correct, "%.3f"), 16) << "\n";
  }
}

void print_overthinking(std::ostream& out, const Report& r) {
  if (!r.overthinking) {
    return;
  }
  const Wasteful& w = r.overthinking->wasteful;
  const std::vector<WastefulRow>& per_exit = w.per_exit;
  out << "Wasteful overthinking (samples right)\n"
      << left("exit", 7) << pad("correct", 9) << pad("cumul.", 9)
      << pad("first", 9) << "\n";
  for (size_t e = 0; e < per_exit.size(); ++e) {
    const WastefulRow& x = per_exit[e];
    out << left(exit_name(e, per_exit.size()), 7)
        << pad(std::to_string(x.correct), 9)
        << pad(std::to_string(x.cumulative_correct), 9)
        << pad(std::to_string(x.first_correct), 9) << "\n";
  }
  out << "Oracle cost: nominal " << fmt(w.oracle_cost_nominal, "%.3f")
      << ", measured " << fmt(w.oracle_cost_measured, "%.3f")
      << "; some IC right on " << fmt(100.0 * w.ic_correct_fraction, "%.1f")
      << " % of samples\n\n";
  print_destructive(
      out, r.overthinking->destructive, "Destructive overthinking");
  out << "\n";
}

void print_confusion(std::ostream& out, const Report& r) {
  if (!r.confusion) {
    return;
  }
  const Confusion& c = *r.confusion;
  const ConfidenceBaseline& conf = c.confidence;
  out << "Confusion (normalised with the " << c.normalized_with
      << " trace's statistics) vs confidence (" << conf.source << ")\n"
      << left("", 12) << pad("correct", 9) << pad("wrong", 9) << pad("AUROC", 8)
      << pad("FNR", 8) << "\n"
      << left("confusion", 12) << pad(fmt(c.mean_correct, "%.3f"), 9)
      << pad(fmt(c.mean_wrong, "%.3f"), 9) << pad(fmt(c.auroc, "%.3f"), 8)
      << pad(fmt(c.fnr_confusion, "%.3f"), 8) << "\n"
      << left("confidence", 12) << pad(fmt(conf.mean_correct, "%.3f"), 9)
      << pad(fmt(conf.mean_wrong, "%.3f"), 9)
      << pad(fmt(c.confidence_auroc, "%.3f"), 8)
      << pad(fmt(c.fnr_confidence, "%.3f"), 8) << "\n"
      << "Correct samples above the wrong mean: " << c.correct_above_wrong_mean
      << "; wrong samples below the correct mean: "
      << c.wrong_below_correct_mean << "\n\n";
}

// v[i] of a series of optional figures, nullopt past the end.
std::optional<double> figure_at(
    const std::vector<std::optional<double>>& v,
    size_t i) {
  return i < v.size() ? v[i] : std::nullopt;
}

void print_backdoor(std::ostream& out, const Report& r) {
  if (!r.backdoor) {
    return;
  }
  const Backdoor& b = *r.backdoor;
  const size_t n = b.attack_success.size();
  out << "Backdoor (target class " << b.target
      << (b.target_name ? " '" + *b.target_name + "'" : std::string()) << ", "
      << b.num_attacked << " triggered samples of other "
      << "classes)\n"
      << left("exit", 7) << pad("attack %", 10) << pad("clean %", 10)
      << pad("trig. %", 10) << "\n";
  for (size_t e = 0; e < n; ++e) {
    out << left(exit_name(e, n), 7) << pad(fmt(b.attack_success[e], "%.2f"), 10)
        << pad(fmt(figure_at(b.clean_accuracy, e), "%.2f"), 10)
        << pad(fmt(figure_at(b.triggered_accuracy, e), "%.2f"), 10) << "\n";
  }
  print_destructive(out, b.destructive, "On triggered inputs");
  out << "\n";
}

void print_policies(std::ostream& out, const Report& r) {
  if (!r.policies || r.policies->empty()) {
    return;
  }
  out << "Exit policies: top-1 % / cost at each budget (parameters picked on "
      << r.selection << ", figures on the report trace; '-': nothing fits)\n"
      << left("policy", 12) << left("fitted on", 10);
  for (const PolicyBudgetColumn& column : policy_budget_columns()) {
    out << pad("<=" + fmt(100 * column.fraction, "%.0f") + "%", 16);
  }
  out << "\n";
  // Registry order, the paper's policy first.
  for (const std::string& name : analysis::exit_policy_names()) {
    const auto it = r.policies->find(name);
    if (it == r.policies->end()) {
      continue;
    }
    const PolicyResult& p = it->second;
    out << left(name, 12) << left(p.fitted_on ? *p.fitted_on : "-", 10);
    for (const PolicyBudgetColumn& column : policy_budget_columns()) {
      const std::optional<PolicyBudget>& entry = p.budgets.*column.entry;
      out << pad(
          entry ?
              fmt(entry->accuracy, "%.2f") + " / " + fmt(entry->cost, "%.3f") :
              "-",
          16);
    }
    out << "\n";
  }
  out << "\n";
}

void print_calibration(std::ostream& out, const Report& r) {
  if (!r.calibration) {
    return;
  }
  const Calibration& c = *r.calibration;
  const size_t n = c.ece.size();
  out << "Calibration per exit (ECE over 15 bins and KS error, 0 = perfect";
  if (c.temperature) {
    out << "; T: temperature fitted on val, then ECE and KS after scaling";
  }
  out << ")\n" << left("exit", 7) << pad("ECE", 8) << pad("KS", 8);
  if (c.temperature) {
    out << pad("T", 8) << pad("ECE T", 8) << pad("KS T", 8);
  }
  out << "\n";
  for (size_t e = 0; e < n; ++e) {
    out << left(exit_name(e, n), 7) << pad(fmt(c.ece[e], "%.4f"), 8)
        << pad(fmt(element(c.ks, e), "%.4f"), 8);
    if (c.temperature) {
      const auto scaled = [&](const std::optional<std::vector<double>>& v) {
        return v ? element(*v, e) : std::nullopt;
      };
      out << pad(fmt(element(*c.temperature, e), "%.3f"), 8)
          << pad(fmt(scaled(c.ece_scaled), "%.4f"), 8)
          << pad(fmt(scaled(c.ks_scaled), "%.4f"), 8);
    }
    out << "\n";
  }
  // Early exit at the paper's thresholds (--json has the whole grid).
  bool header = false;
  for (const EarlyExitCalibrationRow& row : c.early_exit) {
    if (!analysis::is_paper_threshold(row.threshold)) {
      continue;
    }
    if (!header) {
      out << left("early exit at q", 16) << pad("ECE", 8) << pad("KS", 8)
          << "\n";
      header = true;
    }
    out << left(fmt(row.threshold, "%.3f"), 16) << pad(fmt(row.ece, "%.4f"), 8)
        << pad(fmt(row.ks, "%.4f"), 8) << "\n";
  }
  out << "\n";
}

void print_ood(std::ostream& out, const Report& r) {
  if (!r.ood) {
    return;
  }
  const Ood& o = *r.ood;
  const size_t n = o.auroc.size();
  out << "Out-of-distribution detection against " << o.source << " ("
      << o.ood_trace.num_samples
      << " samples; AUROC, 0.5 = chance, 1 = perfect)\n"
      << left("exit", 7) << pad("AUROC", 8) << "\n";
  for (size_t e = 0; e < n; ++e) {
    out << left(exit_name(e, n), 7) << pad(fmt(o.auroc[e], "%.4f"), 8) << "\n";
  }
  out << "the confusion score as the score (OOD positive): AUROC "
      << fmt(o.confusion_auroc, "%.4f") << "\n";
  bool header = false;
  for (const OodEarlyExitRow& row : o.early_exit) {
    if (!analysis::is_paper_threshold(row.threshold)) {
      continue;
    }
    if (!header) {
      out << left("early exit at q", 16) << pad("AUROC", 8) << "\n";
      header = true;
    }
    out << left(fmt(row.threshold, "%.3f"), 16)
        << pad(fmt(row.auroc, "%.4f"), 8) << "\n";
  }
  out << "\n";
}

} // namespace

void print_report(std::ostream& out, const Report& report) {
  print_header(out, report);
  print_exits(out, report);
  print_sweep(out, report);
  print_budgets(out, report);
  print_policies(out, report);
  print_calibration(out, report);
  print_overthinking(out, report);
  print_confusion(out, report);
  print_backdoor(out, report);
  print_ood(out, report);
}

} // namespace sdn::report
