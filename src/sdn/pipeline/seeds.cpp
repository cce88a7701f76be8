// `sdn paper --seeds`: the pipeline once per seed, then the spread over the
// seeds (pipeline/paper.h, run_paper_seeds).
#include "sdn/pipeline/aggregate.h"
#include "sdn/pipeline/paper.h"

#include "sdn/report/html.h"
#include "sdn/report/html_figures.h"
#include "sdn/report/svg.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/output_lock.h"
#include "sdn/util/timer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sdn::pipeline {

namespace {

// Cell `key` of one network's spread report as "mean +- sd (min - max)".
std::string cell(
    const nlohmann::json& report,
    const nlohmann::json::json_pointer& key,
    int precision) {
  if (!report.contains(key)) {
    return "-";
  }
  return format_spread(read_spread(report.at(key), key.to_string()), precision);
}

void print_exit_table(const nlohmann::json& reports) {
  std::cout << "\n#### Accuracy per exit (test, %)\n\n";
  const auto& sdn = reports.at("sdn");
  const size_t exits = sdn.at("exit_accuracy").size();
  std::cout << "| Network |";
  for (size_t e = 0; e < exits; ++e) {
    std::cout
        << (e + 1 == exits ? std::string(" Final |") :
                             " IC" + std::to_string(e + 1) + " |");
  }
  std::cout << " CNN |\n|---|";
  for (size_t e = 0; e <= exits; ++e) {
    std::cout << "---|";
  }
  std::cout << "\n";
  for (const char* name : {"ic_only", "sdn"}) {
    const auto& r = reports.at(name);
    std::cout << "| "
              << (std::string(name) == "sdn" ? "SDN training" : "IC-only")
              << " |";
    for (size_t e = 0; e < exits; ++e) {
      std::cout << " "
                << cell(
                       r,
                       nlohmann::json::json_pointer(
                           "/exit_accuracy/" + std::to_string(e)),
                       2)
                << " |";
    }
    std::cout << " "
              << cell(r, nlohmann::json::json_pointer("/cnn_accuracy"), 2)
              << " |\n";
  }
}

// The figures of the table: label, report key, decimals.
const std::vector<std::pair<std::string, std::pair<std::string, int>>>&
figure_rows() {
  static const std::vector<std::pair<std::string, std::pair<std::string, int>>>
      rows = {
          {"accuracy at 25 % budget (%)", {"/budgets/0.25/accuracy", 2}},
          {"cost at 25 % budget", {"/budgets/0.25/cost", 3}},
          {"accuracy at 50 % budget (%)", {"/budgets/0.5/accuracy", 2}},
          {"cost at 50 % budget", {"/budgets/0.5/cost", 3}},
          {"accuracy at 75 % budget (%)", {"/budgets/0.75/accuracy", 2}},
          {"cost at 75 % budget", {"/budgets/0.75/cost", 3}},
          {"destructive share of the errors",
           {"/overthinking/destructive/rate", 3}},
          {"confusion AUROC (wrong vs right)", {"/confusion/auroc", 3}},
          {"confidence AUROC (wrong vs right)",
           {"/confusion/confidence/auroc", 3}}};
  return rows;
}

void print_figures_table(const nlohmann::json& reports) {
  std::cout << "\n#### Early exit, overthinking and confusion\n\n"
               "| Figure | IC-only | SDN training |\n|---|---|---|\n";
  for (const auto& [label, where] : figure_rows()) {
    const nlohmann::json::json_pointer key(where.first);
    std::cout << "| " << label << " | "
              << cell(reports.at("ic_only"), key, where.second) << " | "
              << cell(reports.at("sdn"), key, where.second) << " |\n";
  }
}

const char* network_name(const std::string& name) {
  return name == "sdn" ? "SDN training" : "IC-only";
}

// The number at `key` of a per-seed report, NaN when absent or null.
double number_at(
    const nlohmann::json& report,
    const nlohmann::json::json_pointer& key) {
  return report.contains(key) && report.at(key).is_number() ?
      report.at(key).get<double>() :
      std::nan("");
}

// A test-accuracy axis spanning [lo, hi] with a point of margin.
void accuracy_axis(report::svg::Axis& axis, double lo, double hi) {
  axis.label = "test accuracy (%)";
  const auto range = report::svg::nice_range(lo - 1, hi + 1);
  axis.lo = range.first;
  axis.hi = range.second;
}

// Accuracy per exit: each seed's curve (thin), the mean (markers) and the
// min - max range (a bar) per exit, both networks.
std::string exit_accuracy_plot(
    const std::map<std::string, std::vector<nlohmann::json>>& reports,
    const nlohmann::json& spread_reports) {
  const size_t exits = spread_reports.at("sdn").at("exit_accuracy").size();
  double lo = 100;
  double hi = 0;
  for (const auto& [name, runs] : reports) {
    for (const auto& r : runs) {
      for (const auto& a : r.at("exit_accuracy")) {
        if (a.is_number()) {
          lo = std::min(lo, a.get<double>());
          hi = std::max(hi, a.get<double>());
        }
      }
    }
  }
  if (!(hi >= lo)) {
    return "";
  }
  report::svg::PlotOptions po;
  po.title = "Accuracy per exit over the seeds";
  po.x.label = "exit";
  po.x.lo = 0.5;
  po.x.hi = static_cast<double>(exits) + 0.5;
  for (size_t e = 0; e < exits; ++e) {
    po.x.ticks.push_back(
        {static_cast<double>(e + 1),
         e + 1 == exits ? std::string("final") : "IC" + std::to_string(e + 1)});
  }
  accuracy_axis(po.y, lo, hi);
  report::svg::Plot plot(po);
  int color = 0;
  for (const char* name : {"ic_only", "sdn"}) {
    const std::string c = report::svg::categorical_color(color++);
    const double shift = std::string(name) == "sdn" ? 0.08 : -0.08;
    for (const auto& r : reports.at(name)) {
      std::vector<report::svg::Point> points;
      for (size_t e = 0; e < exits; ++e) {
        points.push_back(
            {static_cast<double>(e + 1) + shift,
             number_at(
                 r,
                 nlohmann::json::json_pointer(
                     "/exit_accuracy/" + std::to_string(e)))});
      }
      plot.line(points, c, 1.0);
    }
    std::vector<report::svg::Point> means;
    std::vector<std::string> tips;
    for (size_t e = 0; e < exits; ++e) {
      const Spread sp = read_spread(
          spread_reports.at(name).at("exit_accuracy").at(e), "exit_accuracy");
      const double x = static_cast<double>(e + 1) + shift;
      plot.line({{x, sp.min}, {x, sp.max}}, c, 3.0);
      means.push_back({x, sp.mean});
      tips.push_back(
          std::string(network_name(name)) + ", " +
          (e + 1 == exits ? std::string("final") :
                            "IC" + std::to_string(e + 1)) +
          ": " + format_spread(sp, 2) + " %");
    }
    plot.markers(means, c, 4.0, report::svg::Marker::kCircle, tips);
    plot.legend(
        std::string(network_name(name)) + " (mean, min - max, each seed)",
        c,
        "line");
  }
  return plot.render();
}

// Accuracy against cost of every threshold of the sweep: one curve per
// seed and network.
std::string sweep_plot(
    const std::map<std::string, std::vector<nlohmann::json>>& reports,
    const std::vector<uint64_t>& seeds) {
  double lo = 100;
  double hi = 0;
  for (const auto& [name, runs] : reports) {
    for (const auto& r : runs) {
      for (const auto& p : r.at("sweep")) {
        lo = std::min(lo, p.at("accuracy").get<double>());
        hi = std::max(hi, p.at("accuracy").get<double>());
      }
    }
  }
  if (!(hi >= lo)) {
    return "";
  }
  report::svg::PlotOptions po;
  po.title = "Early exit: accuracy against cost, per seed";
  po.x.label = "cost (fraction of the CNN's FLOPs)";
  po.x.lo = 0;
  po.x.hi = 1.05;
  accuracy_axis(po.y, lo, hi);
  report::svg::Plot plot(po);
  int color = 0;
  for (const char* name : {"ic_only", "sdn"}) {
    const std::string c = report::svg::categorical_color(color++);
    const auto& runs = reports.at(name);
    for (size_t i = 0; i < runs.size(); ++i) {
      std::vector<report::svg::Point> points;
      for (const auto& p : runs[i].at("sweep")) {
        points.push_back(
            {p.at("cost").get<double>(), p.at("accuracy").get<double>()});
      }
      std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) {
        return a.x < b.x;
      });
      plot.line(points, c, 1.5, i % 2 == 1);
    }
    plot.legend(
        std::string(network_name(name)) + " (" + std::to_string(seeds.size()) +
            " seeds)",
        c,
        "line");
  }
  plot.vline(0.5, report::detail::kReference, "50 % budget");
  return plot.render();
}

// The page: both plots, the tables of the console, the claims.
std::string aggregate_page(
    const nlohmann::json& aggregate,
    const std::map<std::string, std::vector<nlohmann::json>>& reports,
    const PaperOptions& options) {
  const auto& spread_reports = aggregate.at("reports");
  std::string body;
  body += report::detail::figure(
      "Accuracy per exit",
      exit_accuracy_plot(reports, spread_reports),
      "",
      "Thin lines: each seed. Thick bars: the range over the seeds; dots: "
      "the mean (hover for mean +- sd).",
      report::detail::Layout::kBelow);
  body += report::detail::figure(
      "Early exit per seed",
      sweep_plot(reports, options.seeds),
      "",
      "Every threshold of the sweep (test split), one curve per seed; the "
      "budget table below uses the thresholds chosen on validation.",
      report::detail::Layout::kBelow);
  report::detail::Table figures;
  figures.header = {"figure", "IC-only", "SDN training"};
  for (const auto& [label, where] : figure_rows()) {
    const nlohmann::json::json_pointer key(where.first);
    figures.rows.push_back(
        {label,
         cell(spread_reports.at("ic_only"), key, where.second),
         cell(spread_reports.at("sdn"), key, where.second)});
  }
  body += report::detail::figure(
      "Figures over the seeds (mean +- sd (min - max))",
      "",
      figures.render(),
      "",
      report::detail::Layout::kBelow);
  report::detail::Table claims;
  claims.header = {"claim", "supported in", "per seed"};
  for (const auto& c : aggregate.at("claims")) {
    std::string verdicts;
    for (size_t i = 0; i < c.at("verdicts").size(); ++i) {
      verdicts += (i ? ", " : "") + std::to_string(options.seeds[i]) + ": " +
          c.at("verdicts")[i].get<std::string>();
    }
    claims.rows.push_back(
        {c.at("claim").get<std::string>(),
         std::to_string(c.at("supported").get<int>()) + " of " +
             std::to_string(c.at("runs").get<int>()),
         verdicts});
  }
  body += report::detail::figure(
      "The paper's claims over the seeds",
      "",
      claims.render(),
      "Each seed's own page, OUT/seed-N/report.html, has every analysis "
      "of that run.",
      report::detail::Layout::kBelow);
  report::HtmlOptions page;
  page.title = "Shallow-Deep Networks: " + options.arch + " on " +
      options.data.name + ", " + std::to_string(options.seeds.size()) +
      " seeds";
  page.subtitle = "sdn paper --seeds, " +
      aggregate.at("date").get<std::string>() + ", output " + options.out;
  return report::render_page(page, body);
}

} // namespace

PaperResult run_paper_seeds(const PaperOptions& options) {
  check(!options.seeds.empty(), "run_paper_seeds: no --seeds");
  const std::set<uint64_t> unique(options.seeds.begin(), options.seeds.end());
  check(
      unique.size() == options.seeds.size(),
      "--seeds: each seed once, got a seed twice");
  std::vector<PaperOptions> runs;
  std::vector<std::string> owned = {"aggregate.json", "report.html"};
  for (const uint64_t seed : options.seeds) {
    PaperOptions one = options;
    one.seeds.clear();
    one.seed = seed;
    one.out = options.out + "/seed-" + std::to_string(seed);
    one.validate();
    owned.push_back("seed-" + std::to_string(seed));
    runs.push_back(one);
  }
  const auto lock = OutputLock::acquire(options.out, "--out");
  check_output_folder(options.out, "--out", owned);
  make_dirs(options.out);
  Timer total;
  std::vector<nlohmann::json> summaries;
  std::vector<nlohmann::json> claims;
  std::vector<nlohmann::json> ood;
  std::map<std::string, std::vector<nlohmann::json>> reports;
  for (size_t i = 0; i < runs.size(); ++i) {
    std::fprintf(
        stderr,
        "\n=== seed %llu (%zu of %zu): %s\n",
        static_cast<unsigned long long>(runs[i].seed),
        i + 1,
        runs.size(),
        runs[i].out.c_str());
    const PaperResult result = run_paper(runs[i]);
    claims.push_back(result.summary.at("claims"));
    ood.push_back(result.summary.at("ood"));
    for (const char* name : {"ic_only", "sdn"}) {
      reports[name].push_back(
          read_json(runs[i].out + "/report-" + name + ".json"));
    }
  }
  nlohmann::json aggregate;
  aggregate["seeds"] = options.seeds;
  aggregate["runs"] = nlohmann::json::array();
  for (const auto& one : runs) {
    aggregate["runs"].push_back(one.out);
  }
  aggregate["claims"] = count_verdicts(claims);
  aggregate["reports"] = {
      {"ic_only", spread(reports.at("ic_only"))},
      {"sdn", spread(reports.at("sdn"))}};
  aggregate["ood"] = spread(ood);
  const std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  aggregate["date"] = date;
  aggregate["seconds"] = total.seconds();
  write_json_atomic(options.out + "/aggregate.json", aggregate);

  std::cout << "\n### Over " << runs.size()
            << " seeds: mean +- sd (min - max)\n";
  print_exit_table(aggregate["reports"]);
  print_figures_table(aggregate["reports"]);
  std::cout << "\n#### The paper's claims over the seeds\n\n";
  for (const auto& c : aggregate["claims"]) {
    std::cout << "- " << c.at("claim").get<std::string>() << ": supported in "
              << c.at("supported").get<int>() << " of "
              << c.at("runs").get<int>() << "\n";
  }
  PaperResult result;
  result.summary = aggregate;
  result.html = options.out + "/report.html";
  write_file_atomic(result.html, aggregate_page(aggregate, reports, options));
  std::fprintf(
      stderr,
      "\nreport: %s\naggregate: %s/aggregate.json\nthis invocation took "
      "%.0f s\n",
      result.html.c_str(),
      options.out.c_str(),
      total.seconds());
  return result;
}

} // namespace sdn::pipeline
