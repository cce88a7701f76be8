#include "sdn/report/html_figures.h"

#include "sdn/analysis/exit_policy.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace sdn::report::detail {

namespace {

// More bars than this in the exit distribution get hard to read.
constexpr size_t kMaxDistributionBars = 8;

// The axes of an accuracy-against-cost plot: cost from 0 to just past the
// largest of `xs`, accuracy around `ys`, padded and within [0, 100].
svg::PlotOptions cost_accuracy_axes(
    const std::string& title,
    const std::vector<double>& xs,
    const std::vector<double>& ys) {
  svg::PlotOptions options;
  options.title = title;
  options.x.label = "average cost relative to the CNN";
  options.x.lo = 0;
  options.x.hi = svg::nice_range(0, max_finite(xs, 1.0) * 1.02).second;
  options.y.label = "top-1 accuracy (%)";
  const double lo = min_finite(ys, 0), hi = max_finite(ys, 100);
  const double pad = std::max(1.0, (hi - lo) * 0.08);
  std::tie(options.y.lo, options.y.hi) =
      svg::nice_range(std::max(0.0, lo - pad), std::min(100.0, hi + pad));
  return options;
}

} // namespace

std::string accuracy_figure(const Report& report) {
  const int n = exit_count(report);
  const std::vector<double>& top1 = report.exit_accuracy;
  const std::vector<double>& top5 = report.exit_top5;
  const std::vector<double>& costs = report.exit_cost;
  const auto cnn = finite_value(report.cnn_accuracy);
  if (n == 0 || (top1.empty() && top5.empty())) {
    return "";
  }
  const std::vector<std::string> labels = exit_labels(report, n);
  svg::PlotOptions options;
  options.title = "Accuracy per exit";
  options.x =
      category_axis("exit (cumulative cost relative to the CNN)", labels);
  options.rotate_x_labels = n > kUnrotatedExits;
  options.y.label = "accuracy (%)";
  options.y.lo = 0;
  options.y.hi = 100;
  svg::Plot plot(options);
  std::vector<std::vector<double>> series;
  std::vector<std::string> names, colors;
  if (!top1.empty()) {
    series.push_back(top1);
    names.push_back("top-1");
    colors.push_back(svg::categorical_color(0));
  }
  if (!top5.empty()) {
    series.push_back(top5);
    names.push_back("top-5");
    colors.push_back(svg::categorical_color(5));
  }
  grouped_bars(plot, series, names, colors, labels, " %");
  if (cnn) {
    plot.hline(*cnn, kReference, "CNN " + percent(*cnn));
    plot.legend("CNN top-1", kReference, "dashed");
  }
  Table table;
  table.header = {"Exit", "Cost", "Top-1 (%)", "Top-5 (%)"};
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<size_t>(i);
    table.rows.push_back(
        {exit_name(i, n),
         finite(at(costs, k)) ? cost(at(costs, k)) : "-",
         finite(at(top1, k)) ? svg::fixed(at(top1, k), 1) : "-",
         finite(at(top5, k)) ? svg::fixed(at(top5, k), 1) : "-"});
  }
  if (cnn) {
    table.rows.push_back({"CNN", cost(1.0), svg::fixed(*cnn, 1), "-"});
  }
  return figure(
      "Accuracy of every exit",
      plot.render(),
      table.render(),
      "Each exit classifies every test sample (no early exit). Cost: "
      "operations up to and including that exit, relative to the CNN (1.000).");
}

std::string sweep_figure(const Report& report) {
  const auto cnn = finite_value(report.cnn_accuracy);
  std::vector<svg::Point> points;
  std::vector<std::string> tips;
  Table sweep_table;
  sweep_table.caption = "Threshold sweep (the paper's grid; the plot has all)";
  sweep_table.header = {"Threshold", "Top-1 (%)", "Cost", "Early exits"};
  if (report.sweep) {
    for (const SweepRow& row : *report.sweep) {
      const double q = finite_or_nan(row.threshold);
      const double a = finite_or_nan(row.accuracy);
      const double c = finite_or_nan(row.cost);
      const std::vector<double>& fr = row.exit_fraction;
      const double early = fr.empty() ? kNaN : 1.0 - fr.back();
      points.push_back({c, a});
      tips.push_back(
          "threshold " + svg::trimmed(q, 3) + ": " + percent(a) + " at cost " +
          cost(c));
      // The fine grid is plotted; the table keeps the paper's grid, so it
      // stays a readable length.
      if (!row.paper_grid) {
        continue;
      }
      sweep_table.rows.push_back(
          {svg::trimmed(q, 3),
           finite(a) ? svg::fixed(a, 1) : "-",
           finite(c) ? cost(c) : "-",
           fraction_percent(early)});
    }
  }
  // The budget table follows the paper: N., <=25 %, <=50 %, <=75 %, Max.
  Table budgets;
  budgets.caption = "Accuracy under a cost budget";
  budgets.header = {"", "N.", "<= 25 %", "<= 50 %", "<= 75 %", "Max"};
  std::vector<std::optional<BudgetPoint>> chosen;
  for (const BudgetColumn& column : budget_table_columns()) {
    chosen.push_back(budget(report, column.entry));
  }
  std::optional<BudgetPoint> none;
  std::string none_label = "CNN";
  if (cnn) {
    none = BudgetPoint{kNaN, *cnn, 1.0};
  } else {
    const std::vector<double>& acc = report.exit_accuracy;
    const std::vector<double>& costs = report.exit_cost;
    if (!acc.empty() && finite(acc.back())) {
      none = BudgetPoint{kNaN, acc.back(), costs.empty() ? kNaN : costs.back()};
      none_label = "SDN final exit";
    }
  }
  const bool any_budget =
      std::any_of(chosen.begin(), chosen.end(), [](const auto& b) {
        return b.has_value();
      });
  if (any_budget || none) {
    std::vector<std::string> acc_row = {"Top-1 (%)"}, q_row = {"Threshold"},
                             c_row = {"Cost"};
    std::vector<std::optional<BudgetPoint>> all = {none};
    all.insert(all.end(), chosen.begin(), chosen.end());
    for (const auto& b : all) {
      acc_row.push_back(b ? svg::fixed(b->accuracy, 1) : "-");
      q_row.push_back(
          b && finite(b->threshold) ? svg::trimmed(b->threshold, 3) : "-");
      c_row.push_back(b && finite(b->cost) ? cost(b->cost) : "-");
    }
    budgets.rows = {acc_row, q_row, c_row};
  }
  const bool has_points =
      std::any_of(points.begin(), points.end(), [](const svg::Point& p) {
        return finite(p.x) && finite(p.y);
      });
  std::string plot_svg;
  if (has_points) {
    std::vector<double> xs = {1.0}, ys;
    for (const svg::Point& p : points) {
      xs.push_back(p.x);
      ys.push_back(p.y);
    }
    if (cnn) {
      ys.push_back(*cnn);
    }
    svg::Plot plot(cost_accuracy_axes("Accuracy against average cost", xs, ys));
    for (const BudgetColumn& column : budget_table_columns()) {
      if (column.fraction) {
        const double fraction = *column.fraction;
        plot.vline(
            fraction, "#888", "<= " + svg::fixed(fraction * 100, 0) + " %");
      }
    }
    std::vector<svg::Point> sorted = points;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.x < b.x;
    });
    const std::string color = svg::categorical_color(0);
    plot.line(sorted, color);
    plot.markers(points, color, 3.5, svg::Marker::kCircle, tips);
    plot.legend("early exit (one point per threshold)", color, "line");
    std::vector<svg::Point> picked;
    std::vector<std::string> picked_tips;
    const char* names[] = {"<= 25 %", "<= 50 %", "<= 75 %", "max"};
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (chosen[i]) {
        picked.push_back({chosen[i]->cost, chosen[i]->accuracy});
        picked_tips.push_back(
            std::string("budget ") + names[i] + ": " +
            percent(chosen[i]->accuracy) + " at cost " + cost(chosen[i]->cost));
      }
    }
    if (!picked.empty()) {
      const std::string hot = svg::categorical_color(3);
      plot.markers(picked, hot, 6.5, svg::Marker::kCircle, picked_tips, true);
      plot.legend("chosen for a budget", hot, "ring");
    }
    if (cnn) {
      plot.markers(
          {{1.0, *cnn}},
          kReference,
          5.5,
          svg::Marker::kSquare,
          {"CNN: " + percent(*cnn) + " at cost 1.000"});
      plot.legend("CNN", kReference, "box");
    }
    plot_svg = plot.render();
  }
  const std::string tables = budgets.render() + sweep_table.render();
  if (plot_svg.empty() && tables.empty()) {
    return "";
  }
  return figure(
      "Early exit: accuracy against cost",
      plot_svg,
      tables,
      "A sample leaves at the first internal classifier whose softmax "
      "confidence reaches the threshold. Budgets: the threshold with the best "
      "accuracy whose average cost stays under that share of the CNN; Max: "
      "the best accuracy at any threshold. N.: " +
          none_label + " without early exit.");
}

std::string policies_figure(const Report& report) {
  if (!report.policies || report.policies->empty()) {
    return "";
  }
  const auto cnn = finite_value(report.cnn_accuracy);
  // Registry order, the paper's policy first, so colours stay put.
  std::vector<std::pair<std::string, const PolicyResult*>> shown;
  for (const std::string& name : analysis::exit_policy_names()) {
    const auto it = report.policies->find(name);
    if (it != report.policies->end()) {
      shown.emplace_back(name, &it->second);
    }
  }
  Table table;
  table.caption =
      "Top-1 (%) and cost at each budget, the parameter picked on " +
      report.selection;
  table.header = {"Policy", "Fitted on"};
  for (const PolicyBudgetColumn& column : policy_budget_columns()) {
    table.header.push_back("<= " + svg::fixed(column.fraction * 100, 0) + " %");
  }
  std::vector<double> xs = {1.0}, ys;
  for (const auto& [name, result] : shown) {
    std::vector<std::string> row = {name, result->fitted_on.value_or("-")};
    for (const PolicyBudgetColumn& column : policy_budget_columns()) {
      const std::optional<PolicyBudget>& entry = result->budgets.*column.entry;
      if (!entry || !finite(entry->accuracy)) {
        row.push_back("-");
        continue;
      }
      const PolicyBudget& b = *entry;
      row.push_back(
          svg::fixed(b.accuracy, 1) + " at " +
          (finite(b.cost) ? cost(b.cost) : "-") + " (" +
          svg::trimmed(b.param, 3) + ")");
    }
    table.rows.push_back(std::move(row));
    for (const PolicySweepRow& p : result->sweep) {
      if (finite(p.cost) && finite(p.accuracy)) {
        xs.push_back(p.cost);
        ys.push_back(p.accuracy);
      }
    }
  }
  std::string plot_svg;
  if (!ys.empty()) {
    if (cnn) {
      ys.push_back(*cnn);
    }
    svg::Plot plot(cost_accuracy_axes(
        "Every exit policy: accuracy against average cost", xs, ys));
    for (size_t i = 0; i < shown.size(); ++i) {
      const auto& [name, result] = shown[i];
      std::vector<svg::Point> points;
      std::vector<std::string> tips;
      for (const PolicySweepRow& p : result->sweep) {
        if (finite(p.cost) && finite(p.accuracy)) {
          points.push_back({p.cost, p.accuracy});
          tips.push_back(
              name + " " + svg::trimmed(p.param, 4) + ": " +
              percent(p.accuracy) + " at cost " + cost(p.cost));
        }
      }
      if (points.empty()) {
        continue;
      }
      std::vector<svg::Point> sorted = points;
      std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.x < b.x;
      });
      const std::string color = svg::categorical_color(static_cast<int>(i));
      plot.line(sorted, color);
      plot.markers(points, color, 2.5, svg::Marker::kCircle, tips);
      plot.legend(name, color, "line");
    }
    if (cnn) {
      plot.markers(
          {{1.0, *cnn}},
          kReference,
          5.5,
          svg::Marker::kSquare,
          {"CNN: " + percent(*cnn) + " at cost 1.000"});
      plot.legend("CNN", kReference, "box");
    }
    plot_svg = plot.render();
  }
  return figure(
      "Exit policies side by side",
      plot_svg,
      table.render(),
      "Each curve is one exit rule over its parameter grid on the same "
      "trace (docs/exit-trace.md#exit-policies): max-prob (the paper), "
      "entropy, patience (the last t+1 exits agree), budget-fit (per-exit "
      "thresholds fitted on validation), ensemble (a geometric ensemble of "
      "the exits so far, fitted on traces). Table cells: accuracy at cost "
      "(parameter) under each budget.");
}

std::string calibration_figure(const Report& report) {
  if (!report.calibration || report.calibration->bins.empty()) {
    return "";
  }
  const Calibration& c = *report.calibration;
  const size_t n = c.bins.size();
  svg::PlotOptions options;
  options.title = "Reliability diagram per exit";
  options.x.label = "confidence (mean of each of 15 bins)";
  options.x.lo = 0;
  options.x.hi = 1;
  options.y.label = "accuracy in the bin";
  options.y.lo = 0;
  options.y.hi = 1;
  svg::Plot plot(options);
  plot.line({{0, 0}, {1, 1}}, kReference, 1.0, true);
  plot.legend("perfect calibration", kReference, "dashed");
  bool any = false;
  for (size_t e = 0; e < n; ++e) {
    std::vector<svg::Point> points;
    std::vector<std::string> tips;
    for (const CalibrationBin& b : c.bins[e]) {
      if (b.count > 0 && finite(b.confidence) && finite(b.accuracy)) {
        points.push_back({b.confidence, b.accuracy});
        tips.push_back(
            exit_name(static_cast<int>(e), static_cast<int>(n)) +
            ", confidence " + svg::fixed(b.low, 2) + "-" +
            svg::fixed(b.high, 2) + ": " + plain(static_cast<double>(b.count)) +
            " samples, " + fraction_percent(b.accuracy) + " right at mean " +
            fraction_percent(b.confidence));
      }
    }
    if (points.empty()) {
      continue;
    }
    any = true;
    // The palette has six colours (black is for references): a seventh
    // exit, the final one of the paper's networks, in wine red.
    const std::string color = e == 6 ?
        std::string("#882255") :
        svg::categorical_color(static_cast<int>(e));
    plot.line(points, color, 1.5);
    plot.markers(points, color, 2.5, svg::Marker::kCircle, tips);
    plot.legend(
        exit_name(static_cast<int>(e), static_cast<int>(n)), color, "line");
  }
  Table table;
  table.caption = c.temperature ?
      "ECE and KS error per exit, before and after temperature scaling "
      "(T fitted on val)" :
      "ECE and KS error per exit";
  table.header = {"Exit", "ECE", "KS"};
  if (c.temperature) {
    table.header.insert(table.header.end(), {"T", "ECE after", "KS after"});
  }
  const auto figure_or_dash = [](const std::vector<double>& v, size_t i) {
    return i < v.size() && finite(v[i]) ? svg::fixed(v[i], 4) : "-";
  };
  for (size_t e = 0; e < n; ++e) {
    std::vector<std::string> row = {
        exit_name(static_cast<int>(e), static_cast<int>(n)),
        figure_or_dash(c.ece, e),
        figure_or_dash(c.ks, e)};
    if (c.temperature) {
      row.push_back(
          e < c.temperature->size() && finite((*c.temperature)[e]) ?
              svg::fixed((*c.temperature)[e], 3) :
              "-");
      row.push_back(
          c.ece_scaled ? figure_or_dash(*c.ece_scaled, e) : std::string("-"));
      row.push_back(
          c.ks_scaled ? figure_or_dash(*c.ks_scaled, e) : std::string("-"));
    }
    table.rows.push_back(std::move(row));
  }
  Table early;
  early.caption =
      "Early exit's output (each sample at the exit that "
      "answered it), at the paper's thresholds";
  early.header = {"Threshold", "ECE", "KS"};
  for (const EarlyExitCalibrationRow& row : c.early_exit) {
    if (analysis::is_paper_threshold(row.threshold)) {
      early.rows.push_back(
          {svg::trimmed(row.threshold, 3),
           finite(row.ece) ? svg::fixed(row.ece, 4) : "-",
           finite(row.ks) ? svg::fixed(row.ks, 4) : "-"});
    }
  }
  return figure(
      "Calibration",
      any ? plot.render() : "",
      table.render() + early.render(),
      "A calibrated exit is right as often as it is confident: its points "
      "lie on the diagonal. ECE: the bins' accuracy-confidence gaps weighted "
      "by their share of samples (15 equal-width bins); KS: the largest gap "
      "between cumulative confidence and cumulative accuracy, samples sorted "
      "by confidence (docs/exit-trace.md#calibration).");
}

std::string ood_figure(const Report& report) {
  if (!report.ood || report.ood->auroc.empty()) {
    return "";
  }
  const Ood& o = *report.ood;
  const int n = static_cast<int>(o.auroc.size());
  svg::PlotOptions options;
  options.title = "Telling " + o.source + " images from test images";
  options.x = category_axis(
      "exit (cumulative cost relative to the CNN)", exit_labels(report, n));
  options.y.label = "AUROC (0.5 = chance)";
  options.y.lo = 0;
  options.y.hi = 1;
  svg::Plot plot(options);
  std::vector<svg::Point> points;
  std::vector<std::string> tips;
  for (int e = 0; e < n; ++e) {
    points.push_back({static_cast<double>(e), o.auroc[static_cast<size_t>(e)]});
    tips.push_back(
        exit_name(e, n) + ": AUROC " +
        svg::fixed(o.auroc[static_cast<size_t>(e)], 3) +
        " with its confidence as the score");
  }
  const std::string color = svg::categorical_color(0);
  plot.line(points, color);
  plot.markers(points, color, 3.5, svg::Marker::kCircle, tips);
  plot.legend("exit confidence", color, "line");
  if (finite(o.confusion_auroc)) {
    plot.hline(o.confusion_auroc, svg::categorical_color(3), "confusion");
    plot.legend("confusion score", svg::categorical_color(3), "dashed");
  }
  plot.hline(0.5, kReference, "chance");
  Table table;
  table.caption =
      "Early exit's confidence as the score, at the paper's "
      "thresholds";
  table.header = {"Threshold", "AUROC"};
  for (const OodEarlyExitRow& row : o.early_exit) {
    if (analysis::is_paper_threshold(row.threshold)) {
      table.rows.push_back(
          {svg::trimmed(row.threshold, 3),
           finite(row.auroc) ? svg::fixed(row.auroc, 4) : "-"});
    }
  }
  return figure(
      "Out-of-distribution detection",
      plot.render(),
      table.render(),
      "AUROC of telling the " +
          plain(static_cast<double>(report.trace.num_samples)) +
          " test images (positives) from " +
          plain(static_cast<double>(o.ood_trace.num_samples)) + " " + o.source +
          " images by each exit's top softmax probability; the confusion "
          "score counts OOD images as positives (higher confusion = more "
          "likely OOD). docs/exit-trace.md#ood.");
}

std::string distribution_figure(const Report& report) {
  if (!report.sweep) {
    return "";
  }
  std::vector<const SweepRow*> rows;
  for (const SweepRow& row : *report.sweep) {
    if (!row.exit_fraction.empty()) {
      rows.push_back(&row);
    }
  }
  if (rows.empty()) {
    return "";
  }
  if (rows.size() > kMaxDistributionBars) {
    // Evenly spaced thresholds, always keeping the first and the last.
    std::vector<const SweepRow*> kept;
    for (size_t i = 0; i < kMaxDistributionBars; ++i) {
      kept.push_back(rows[i * (rows.size() - 1) / (kMaxDistributionBars - 1)]);
    }
    rows = kept;
  }
  size_t n = 0;
  for (const SweepRow* row : rows) {
    n = std::max(n, row->exit_fraction.size());
  }
  const int exits = static_cast<int>(n);
  std::vector<std::string> labels;
  for (const SweepRow* row : rows) {
    labels.push_back("q = " + svg::trimmed(finite_or_nan(row->threshold), 3));
  }
  svg::PlotOptions options;
  options.title = "Where samples exit";
  options.x = category_axis("confidence threshold", labels);
  options.y.label = "share of samples (%)";
  options.y.lo = 0;
  options.y.hi = 100;
  svg::Plot plot(options);
  std::vector<std::string> colors;
  std::vector<std::string> names;
  for (int e = 0; e < exits; ++e) {
    // The last slice (no early exit) in grey; exits along viridis.
    colors.push_back(
        e == exits - 1 ?
            std::string("#bdbdbd") :
            svg::sequential_color(exits > 2 ? 0.9 * e / (exits - 2) : 0.0));
    names.push_back(e == exits - 1 ? "no early exit" : exit_name(e, exits));
  }
  Table table;
  table.header = {"Threshold"};
  for (const std::string& name : names) {
    table.header.push_back(name + " (%)");
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<double>& fr = rows[i]->exit_fraction;
    double base = 0;
    std::vector<std::string> cells = {labels[i].substr(4)};
    for (int e = 0; e < exits; ++e) {
      const double v = at(fr, static_cast<size_t>(e)) * 100;
      cells.push_back(finite(v) ? svg::fixed(v, 1) : "-");
      if (!finite(v) || v <= 0) {
        continue;
      }
      const double x = static_cast<double>(i);
      plot.rect(
          x - 0.35,
          x + 0.35,
          base,
          base + v,
          colors[static_cast<size_t>(e)],
          1.0,
          labels[i] + ", " + names[static_cast<size_t>(e)] + ": " +
              svg::fixed(v, 1) + " %");
      base += v;
    }
    table.rows.push_back(cells);
  }
  for (int e = 0; e < exits; ++e) {
    plot.legend(names[static_cast<size_t>(e)], colors[static_cast<size_t>(e)]);
  }
  return figure(
      "Exit distribution",
      plot.render(),
      table.render(),
      "Share of samples leaving at each internal classifier, per threshold; "
      "'no early exit' samples ran the whole network.",
      Layout::kBelow);
}

} // namespace sdn::report::detail
