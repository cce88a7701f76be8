#include "sdn/report/html_figures.h"

#include <algorithm>
#include <cmath>

namespace sdn::report::detail {

using nlohmann::json;

namespace {

// Per-exit rows of an analysis object ("per_exit" arrays of objects).
std::vector<json> per_exit(const json* analysis) {
  std::vector<json> rows;
  if (analysis == nullptr) {
    return rows;
  }
  const json* list = field(*analysis, "per_exit");
  if (list == nullptr || !list->is_array()) {
    return rows;
  }
  for (const json& row : *list) {
    rows.push_back(row.is_object() ? row : json::object());
  }
  return rows;
}

std::string cell(const json& row, const char* key, std::string (*f)(double)) {
  const auto v = number(row, key);
  return v ? f(*v) : "-";
}

std::string confidence(double v) {
  return svg::fixed(v, 3);
}

} // namespace

std::string overthinking_figure(const json& report) {
  const json* over = field(report, "overthinking");
  if (over == nullptr) {
    return "";
  }
  const json* wasteful = field(*over, "wasteful");
  const json* destructive = field(*over, "destructive");
  const std::vector<json> waste_rows = per_exit(wasteful);
  const std::vector<json> destroy_rows = per_exit(destructive);
  const int n = std::max(
      {exit_count(report),
       static_cast<int>(waste_rows.size()),
       static_cast<int>(destroy_rows.size())});

  std::string headline;
  if (destructive != nullptr) {
    const auto rate = number(*destructive, "rate");
    const auto wrong = number(*destructive, "wrong_final");
    if (rate) {
      headline = "<p class=\"headline\"><strong>" +
          svg::escape(fraction_percent(*rate)) +
          "</strong> of the final exit's mistakes were classified correctly "
          "by some internal classifier (destructive overthinking)" +
          (wrong ?
               svg::escape(" - " + plain(*wrong) + " wrong final predictions") :
               std::string()) +
          ".</p>\n";
    }
  }

  Table waste;
  waste.caption = "Wasteful overthinking (correct predictions per exit)";
  waste.header = {
      "Exit", "Correct", "Cumulative correct", "First correct here"};
  for (size_t i = 0; i < waste_rows.size(); ++i) {
    const json& r = waste_rows[i];
    waste.rows.push_back(
        {exit_name(static_cast<int>(i), n),
         cell(r, "correct", plain),
         cell(r, "cumulative_correct", plain),
         cell(r, "first_correct", plain)});
  }
  Table oracle;
  oracle.caption = "Oracle exit (each sample leaves at its first correct IC)";
  oracle.header = {"Quantity", "Value"};
  if (wasteful != nullptr) {
    if (const auto v = number(*wasteful, "oracle_cost_nominal")) {
      oracle.rows.push_back({"Cost, nominal IC costs", cost(*v)});
    }
    if (const auto v = number(*wasteful, "oracle_cost_measured")) {
      oracle.rows.push_back({"Cost, measured IC costs", cost(*v)});
    }
    if (const auto v = number(*wasteful, "ic_correct_fraction")) {
      oracle.rows.push_back(
          {"Samples some IC gets right", fraction_percent(*v)});
    }
  }
  Table destroy;
  destroy.caption = "Destructive overthinking (correct here, final wrong)";
  destroy.header = {
      "Exit", "Samples", "Mean confidence", "Mean confidence, all correct"};
  for (size_t i = 0; i < destroy_rows.size(); ++i) {
    const json& r = destroy_rows[i];
    destroy.rows.push_back(
        {exit_name(static_cast<int>(i), n),
         cell(r, "count", plain),
         cell(r, "mean_confidence", confidence),
         cell(r, "mean_confidence_all_correct", confidence)});
  }

  std::string plot_svg;
  if (n > 0 && (!waste_rows.empty() || !destroy_rows.empty())) {
    std::vector<double> first(static_cast<size_t>(n), kNaN);
    std::vector<double> lost(static_cast<size_t>(n), kNaN);
    for (size_t i = 0; i < waste_rows.size() && i < first.size(); ++i) {
      first[i] = number(waste_rows[i], "first_correct").value_or(kNaN);
    }
    for (size_t i = 0; i < destroy_rows.size() && i < lost.size(); ++i) {
      lost[i] = number(destroy_rows[i], "count").value_or(kNaN);
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

std::string confusion_figure(const json& report) {
  const json* c = field(report, "confusion");
  if (c == nullptr) {
    return "";
  }
  const auto mean_correct = number(*c, "mean_correct");
  const auto mean_wrong = number(*c, "mean_wrong");
  const json* conf = field(*c, "confidence");
  const json empty = json::object();
  const json& cf = conf != nullptr ? *conf : empty;

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
       fmt(number(*c, "auroc"), 3),
       fnr(number(*c, "fnr_confusion"))});
  table.rows.push_back(
      {"Confidence",
       fmt(number(cf, "mean_correct"), 3),
       fmt(number(cf, "mean_wrong"), 3),
       fmt(number(*c, "confidence_auroc"), 3),
       fnr(number(*c, "fnr_confidence"))});
  Table counts;
  counts.header = {"Quantity", "Value"};
  if (const auto v = number(*c, "correct_above_wrong_mean")) {
    counts.rows.push_back({"Correct above the wrong mean", plain(*v)});
  }
  if (const auto v = number(*c, "wrong_below_correct_mean")) {
    counts.rows.push_back({"Wrong below the correct mean", plain(*v)});
  }
  if (const json* w = field(*c, "normalized_with"); w && w->is_string()) {
    counts.rows.push_back(
        {"Normalised with statistics of", w->get<std::string>()});
  }

  std::string plot_svg;
  const json* hist = field(*c, "histogram");
  if (hist != nullptr) {
    const std::vector<double> edges = numbers(*hist, "edges");
    const std::vector<double> right = numbers(*hist, "correct");
    const std::vector<double> wrong = numbers(*hist, "wrong");
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

std::string backdoor_figure(const json& report) {
  const json* b = field(report, "backdoor");
  if (b == nullptr) {
    return "";
  }
  const std::vector<double> attack = numbers(*b, "attack_success");
  const std::vector<double> clean = numbers(*b, "clean_accuracy");
  const int n = std::max(
      {exit_count(report),
       static_cast<int>(attack.size()),
       static_cast<int>(clean.size())});
  std::string headline;
  {
    std::vector<std::string> facts;
    if (const auto t = number(*b, "target")) {
      facts.push_back("Target class " + plain(*t));
    }
    if (const auto r = number(*b, "destructive_rate")) {
      facts.push_back(
          std::string(facts.empty() ? "D" : "d") +
          "estructive rate on triggered inputs " + fraction_percent(*r));
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
