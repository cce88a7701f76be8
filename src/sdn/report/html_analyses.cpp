#include "sdn/report/html_figures.h"

#include <algorithm>
#include <cmath>

namespace sdn::report::detail {

namespace {

// A count as table text.
std::string count(int64_t v) {
  return plain(static_cast<double>(v));
}

// An optional figure through `f`, "-" when undefined.
std::string cell(const std::optional<double>& v, std::string (*f)(double)) {
  const auto finite_v = finite_value(v);
  return finite_v ? f(*finite_v) : "-";
}

std::string confidence(double v) {
  return svg::fixed(v, 3);
}

} // namespace

std::string overthinking_figure(const Report& report) {
  if (!report.overthinking) {
    return "";
  }
  const Wasteful& wasteful = report.overthinking->wasteful;
  const Destructive& destructive = report.overthinking->destructive;
  const std::vector<WastefulRow>& waste_rows = wasteful.per_exit;
  const std::vector<DestructiveRow>& destroy_rows = destructive.per_exit;
  const int n = std::max(
      {exit_count(report),
       static_cast<int>(waste_rows.size()),
       static_cast<int>(destroy_rows.size())});

  std::string headline;
  if (const auto rate = finite_value(destructive.rate)) {
    headline = "<p class=\"headline\"><strong>" +
        svg::escape(fraction_percent(*rate)) +
        "</strong> of the final exit's mistakes were classified correctly "
        "by some internal classifier (destructive overthinking)" +
        svg::escape(
                   " - " + count(destructive.wrong_final) +
                   " wrong final predictions") +
        ".</p>\n";
  }

  Table waste;
  waste.caption = "Wasteful overthinking (correct predictions per exit)";
  waste.header = {
      "Exit", "Correct", "Cumulative correct", "First correct here"};
  for (size_t i = 0; i < waste_rows.size(); ++i) {
    const WastefulRow& r = waste_rows[i];
    waste.rows.push_back(
        {exit_name(static_cast<int>(i), n),
         count(r.correct),
         count(r.cumulative_correct),
         count(r.first_correct)});
  }
  Table oracle;
  oracle.caption = "Oracle exit (each sample leaves at its first correct IC)";
  oracle.header = {"Quantity", "Value"};
  if (const auto v = finite_value(wasteful.oracle_cost_nominal)) {
    oracle.rows.push_back({"Cost, nominal IC costs", cost(*v)});
  }
  if (const auto v = finite_value(wasteful.oracle_cost_measured)) {
    oracle.rows.push_back({"Cost, measured IC costs", cost(*v)});
  }
  if (const auto v = finite_value(wasteful.ic_correct_fraction)) {
    oracle.rows.push_back({"Samples some IC gets right", fraction_percent(*v)});
  }
  Table destroy;
  destroy.caption = "Destructive overthinking (correct here, final wrong)";
  destroy.header = {
      "Exit", "Samples", "Mean confidence", "Mean confidence, all correct"};
  for (size_t i = 0; i < destroy_rows.size(); ++i) {
    const DestructiveRow& r = destroy_rows[i];
    destroy.rows.push_back(
        {exit_name(static_cast<int>(i), n),
         count(r.count),
         cell(r.mean_confidence, confidence),
         cell(r.mean_confidence_all_correct, confidence)});
  }

  std::string plot_svg;
  if (n > 0 && (!waste_rows.empty() || !destroy_rows.empty())) {
    std::vector<double> first(static_cast<size_t>(n), kNaN);
    std::vector<double> lost(static_cast<size_t>(n), kNaN);
    for (size_t i = 0; i < waste_rows.size() && i < first.size(); ++i) {
      first[i] = static_cast<double>(waste_rows[i].first_correct);
    }
    for (size_t i = 0; i < destroy_rows.size() && i < lost.size(); ++i) {
      lost[i] = static_cast<double>(destroy_rows[i].count);
    }
    const double top = std::max(max_finite(first, 0), max_finite(lost, 0));
    if (top > 0) {
      const std::vector<std::string> labels = exit_labels(report, n);
      svg::PlotOptions options;
      options.title = "Overthinking per exit";
      options.x = category_axis("exit", labels);
      options.rotate_x_labels = n > kUnrotatedExits;
      options.y.label = "samples";
      options.y.lo = 0;
      options.y.hi = svg::nice_range(0, top).second;
      svg::Plot plot(options);
      std::vector<std::vector<double>> series;
      std::vector<std::string> names, colors;
      if (!waste_rows.empty()) {
        series.push_back(first);
        names.push_back("first correct here (wasteful)");
        colors.push_back(svg::categorical_color(2));
      }
      if (!destroy_rows.empty()) {
        series.push_back(lost);
        names.push_back("correct here, final wrong (destructive)");
        colors.push_back(svg::categorical_color(3));
      }
      grouped_bars(plot, series, names, colors, labels, "");
      plot_svg = plot.render();
    }
  }
  const std::string tables =
      waste.render() + oracle.render() + destroy.render();
  if (headline.empty() && tables.empty() && plot_svg.empty()) {
    return "";
  }
  return figure(
      "Overthinking",
      plot_svg,
      tables,
      "Wasteful: a sample first classified correctly at an early exit "
      "wastes every later layer. Destructive: an internal classifier "
      "was right but the final exit is wrong. The oracle cost charges "
      "a sample its first correct IC, and 1.0 when no IC is right.",
      Layout::kBelow,
      headline);
}

std::string confusion_figure(const Report& report) {
  if (!report.confusion) {
    return "";
  }
  const Confusion& c = *report.confusion;
  const auto mean_correct = finite_value(c.mean_correct);
  const auto mean_wrong = finite_value(c.mean_wrong);
  const ConfidenceBaseline& cf = c.confidence;

  Table table;
  table.caption = "Confusion against confidence as a mistake detector";
  table.header = {"Indicator", "Mean, correct", "Mean, wrong", "AUROC", "FNR"};
  const auto fmt = [](const std::optional<double>& v, int decimals) {
    return v ? svg::fixed(*v, decimals) : std::string("-");
  };
  const auto fnr = [](const std::optional<double>& v) {
    return v ? fraction_percent(*v) : std::string("-");
  };
  table.rows.push_back(
      {"Normalised confusion",
       fmt(mean_correct, 2),
       fmt(mean_wrong, 2),
       fmt(finite_value(c.auroc), 3),
       fnr(finite_value(c.fnr_confusion))});
  table.rows.push_back(
      {"Confidence",
       fmt(finite_value(cf.mean_correct), 3),
       fmt(finite_value(cf.mean_wrong), 3),
       fmt(finite_value(c.confidence_auroc), 3),
       fnr(finite_value(c.fnr_confidence))});
  Table counts;
  counts.header = {"Quantity", "Value"};
  counts.rows.push_back(
      {"Correct above the wrong mean", count(c.correct_above_wrong_mean)});
  counts.rows.push_back(
      {"Wrong below the correct mean", count(c.wrong_below_correct_mean)});
  counts.rows.push_back({"Normalised with statistics of", c.normalized_with});

  std::string plot_svg;
  {
    const std::vector<double>& edges = c.histogram.edges;
    const std::vector<double> right(
        c.histogram.correct.begin(), c.histogram.correct.end());
    const std::vector<double> wrong(
        c.histogram.wrong.begin(), c.histogram.wrong.end());
    const size_t bins = edges.size() > 1 ? edges.size() - 1 : 0;
    double right_total = 0, wrong_total = 0;
    for (double v : right) {
      right_total += finite(v) ? v : 0;
    }
    for (double v : wrong) {
      wrong_total += finite(v) ? v : 0;
    }
    const bool edges_ok = bins > 0 &&
        std::all_of(edges.begin(), edges.end(), finite) &&
        edges.back() > edges.front();
    if (edges_ok && (right_total > 0 || wrong_total > 0)) {
      // Each group as a share of its own size, so the (usually few) wrong
      // predictions remain visible next to the many correct ones.
      std::vector<double> right_share(bins, 0), wrong_share(bins, 0);
      for (size_t b = 0; b < bins; ++b) {
        const double r = at(right, b), w = at(wrong, b);
        right_share[b] =
            right_total > 0 && finite(r) ? 100 * r / right_total : 0;
        wrong_share[b] =
            wrong_total > 0 && finite(w) ? 100 * w / wrong_total : 0;
      }
      const double top =
          std::max(max_finite(right_share, 0), max_finite(wrong_share, 0));
      svg::PlotOptions options;
      options.title = "Normalised confusion of correct and wrong predictions";
      options.x.label = "normalised confusion (z-score)";
      options.x.lo = edges.front();
      options.x.hi = edges.back();
      options.y.label = "share of the group (%)";
      options.y.lo = 0;
      options.y.hi = svg::nice_range(0, top > 0 ? top : 1).second;
      svg::Plot plot(options);
      const std::string blue = svg::categorical_color(0);
      const std::string orange = svg::categorical_color(1);
      for (size_t b = 0; b < bins; ++b) {
        const std::string range =
            svg::trimmed(edges[b], 2) + " to " + svg::trimmed(edges[b + 1], 2);
        plot.rect(
            edges[b],
            edges[b + 1],
            0,
            right_share[b],
            blue,
            0.5,
            "correct, " + range + ": " + plain(at(right, b)) + " samples");
        plot.rect(
            edges[b],
            edges[b + 1],
            0,
            wrong_share[b],
            orange,
            0.5,
            "wrong, " + range + ": " + plain(at(wrong, b)) + " samples");
      }
      plot.legend(
          "correct (" + plain(right_total) + ")", blue, "box", /*opacity=*/0.5);
      plot.legend(
          "wrong (" + plain(wrong_total) + ")", orange, "box", /*opacity=*/0.5);
      if (mean_correct) {
        plot.vline(*mean_correct, blue, "mean " + svg::fixed(*mean_correct, 2));
      }
      if (mean_wrong) {
        plot.vline(
            *mean_wrong, "#b35a00", "mean " + svg::fixed(*mean_wrong, 2));
      }
      plot_svg = plot.render();
    }
  }
  return figure(
      "Confusion: internal disagreement flags mistakes",
      plot_svg,
      table.render() + counts.render(),
      "Confusion sums the L1 distances between the final softmax and every "
      "internal classifier's, z-scored; correct/wrong refer to the final "
      "exit. Higher AUROC separates mistakes better; FNR: share of wrong "
      "predictions the indicator fails to flag.",
      Layout::kBelow);
}

namespace {

// A series of optional figures with NaN for the undefined ones.
std::vector<double> series(const std::vector<std::optional<double>>& values) {
  std::vector<double> out;
  for (const auto& v : values) {
    out.push_back(v ? *v : kNaN);
  }
  return out;
}

} // namespace

std::string backdoor_figure(const Report& report) {
  if (!report.backdoor) {
    return "";
  }
  const Backdoor& b = *report.backdoor;
  const std::vector<double> attack = series(b.attack_success);
  const std::vector<double> clean = series(b.clean_accuracy);
  const int n = std::max(
      {exit_count(report),
       static_cast<int>(attack.size()),
       static_cast<int>(clean.size())});
  std::string headline;
  {
    std::vector<std::string> facts;
    facts.push_back(
        "Target class " + count(b.target) +
        (b.target_name ? " (" + *b.target_name + ")" : std::string()));
    if (const auto rate = finite_value(b.destructive.rate)) {
      facts.push_back(
          "on triggered inputs, " + fraction_percent(*rate) +
          " of the final exit's mistakes were classified correctly by some "
          "internal classifier (" +
          count(b.destructive.rescued) + " of " +
          count(b.destructive.wrong_final) + ")");
    }
    for (size_t i = 0; i < facts.size(); ++i) {
      headline += (i == 0 ? "" : "; ") + facts[i];
    }
    if (!headline.empty()) {
      headline = "<p class=\"headline\">" + svg::escape(headline) + ".</p>\n";
    }
  }
  Table table;
  table.header = {"Exit", "Clean accuracy (%)", "Attack success (%)"};
  for (int i = 0; i < n && (!attack.empty() || !clean.empty()); ++i) {
    const auto k = static_cast<size_t>(i);
    table.rows.push_back(
        {exit_name(i, n),
         finite(at(clean, k)) ? svg::fixed(at(clean, k), 1) : "-",
         finite(at(attack, k)) ? svg::fixed(at(attack, k), 1) : "-"});
  }
  std::string plot_svg;
  if (n > 0 && (!attack.empty() || !clean.empty())) {
    const std::vector<std::string> labels = exit_labels(report, n);
    svg::PlotOptions options;
    options.title = "Backdoor per exit";
    options.x = category_axis("exit", labels);
    options.rotate_x_labels = n > kUnrotatedExits;
    options.y.label = "%";
    options.y.lo = 0;
    options.y.hi = 100;
    svg::Plot plot(options);
    std::vector<std::vector<double>> series;
    std::vector<std::string> names, colors;
    if (!clean.empty()) {
      series.push_back(clean);
      names.push_back("clean accuracy");
      colors.push_back(svg::categorical_color(0));
    }
    if (!attack.empty()) {
      series.push_back(attack);
      names.push_back("attack success (triggered inputs)");
      colors.push_back(svg::categorical_color(3));
    }
    grouped_bars(plot, series, names, colors, labels, " %");
    plot_svg = plot.render();
  }
  if (headline.empty() && plot_svg.empty()) {
    return "";
  }
  return figure(
      "Backdoor",
      plot_svg,
      table.render(),
      "Attack success: share of triggered inputs classified as the "
      "target class at each exit. Early exits that resist the trigger "
      "reveal the backdoor by disagreeing with the final exit.",
      Layout::kSide,
      headline);
}

} // namespace sdn::report::detail
