// `sdn paper --seeds`: the pipeline once per seed, then the spread over the
// seeds (pipeline/paper.h, run_paper_seeds).
#include "sdn/pipeline/aggregate.h"
#include "sdn/pipeline/paper.h"

#include "sdn/report/html.h"
#include "sdn/report/html_figures.h"
#include "sdn/report/report_types.h"
#include "sdn/report/svg.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/output_lock.h"
#include "sdn/util/timer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sdn::pipeline {

namespace {

// "1 seed", "3 seeds".
std::string seeds_text(size_t n) {
  return std::to_string(n) + (n == 1 ? " seed" : " seeds");
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
    const std::vector<Regime>& regimes,
    const std::map<std::string, std::vector<nlohmann::json>>& reports,
    const nlohmann::json& spread_reports) {
  const size_t exits =
      spread_reports.at(regimes.front().key).at("exit_accuracy").size();
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
  // The regimes side by side within each exit's slot.
  const double step = 0.5 / static_cast<double>(regimes.size());
  for (size_t k = 0; k < regimes.size(); ++k) {
    const Regime& regime = regimes[k];
    const std::string& name = regime.key;
    const std::string c = report::svg::categorical_color(static_cast<int>(k));
    const double shift = (static_cast<double>(k) -
                          0.5 * static_cast<double>(regimes.size() - 1)) *
        step;
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
          regime.title + ", " +
          (e + 1 == exits ? std::string("final") :
                            "IC" + std::to_string(e + 1)) +
          ": " + format_spread(sp, 2) + " %");
    }
    plot.markers(means, c, 4.0, report::svg::Marker::kCircle, tips);
    plot.legend(regime.title + " (mean, min - max, each seed)", c, "line");
  }
  return plot.render();
}

// Accuracy against cost of every threshold of the sweep: one curve per
// seed and network.
std::string sweep_plot(
    const std::vector<Regime>& regimes,
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
  for (size_t k = 0; k < regimes.size(); ++k) {
    const std::string c = report::svg::categorical_color(static_cast<int>(k));
    const auto& runs = reports.at(regimes[k].key);
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
        regimes[k].title + " (" + seeds_text(seeds.size()) + ")", c, "line");
  }
  plot.vline(0.5, report::detail::kReference, "50 % budget");
  return plot.render();
}

// The page: both plots, the tables of the console, the claims.
std::string aggregate_page(
    const nlohmann::json& aggregate,
    const std::map<std::string, std::vector<nlohmann::json>>& reports,
    const PaperOptions& options) {
  const std::vector<Regime> regimes = options.parsed_regimes();
  const auto& spread_reports = aggregate.at("reports");
  std::string body;
  body += report::detail::figure(
      "Accuracy per exit",
      exit_accuracy_plot(regimes, reports, spread_reports),
      "",
      "Thin lines: each seed. Thick bars: the range over the seeds; dots: "
      "the mean (hover for mean +- sd).",
      report::detail::Layout::kBelow);
  body += report::detail::figure(
      "Early exit per seed",
      sweep_plot(regimes, reports, options.seeds),
      "",
      "Every threshold of the sweep (test split), one curve per seed; the "
      "budget table below uses the thresholds chosen on validation.",
      report::detail::Layout::kBelow);
  report::detail::Table figures;
  figures.header = {"figure"};
  for (const Regime& r : regimes) {
    figures.header.push_back(r.title);
  }
  if (regimes.size() > 1) {
    figures.header.push_back("best (mean)");
  }
  for (const FigureRow& row : figure_rows()) {
    std::vector<std::string> cells = {row.label};
    for (const Regime& r : regimes) {
      cells.push_back(
          spread_cell(spread_reports.at(r.key), row.key, row.precision));
    }
    if (regimes.size() > 1) {
      cells.push_back(best_regime(regimes, spread_reports, row));
    }
    figures.rows.push_back(cells);
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
      // Aggregated from kept results, the runs' pages may be gone.
      std::all_of(
          options.seeds.begin(),
          options.seeds.end(),
          [&](uint64_t seed) {
            return path_exists(
                options.out + "/seed-" + std::to_string(seed) + "/report.html");
          }) ?
          "Each seed's own page, OUT/seed-N/report.html, has every "
          "analysis of that run." :
          "",
      report::detail::Layout::kBelow);
  report::HtmlOptions page;
  page.title = "Shallow-Deep Networks: " + options.arch + " on " +
      options.data.name + ", " + seeds_text(options.seeds.size());
  page.subtitle = "sdn paper --seeds, " +
      aggregate.at("date").get<std::string>() + ", output " + options.out;
  return report::render_page(page, body);
}

// The "claims" of a run's summary.json at `path`, checked to be a list of
// claims (pipeline/paper.h, Claim).
nlohmann::json checked_claims(
    const nlohmann::json& summary,
    const std::string& path) {
  try {
    summary.at("claims").get<std::vector<Claim>>();
  } catch (const Error& e) {
    fail(path, ": key 'claims': ", e.what());
  } catch (const nlohmann::json::exception&) {
    fail(
        path,
        ": key 'claims': expected a list of {claim, measured, verdict}, "
        "found ",
        summary.at("claims").type_name());
  }
  return summary.at("claims");
}

// --aggregate-only: the summary.json a finished run of `run` wrote, checked
// to be of the same experiment (arch, data set, regimes).
nlohmann::json finished_summary(const PaperOptions& run) {
  const std::string path = run.out + "/summary.json";
  check(
      path_exists(path),
      "--aggregate-only: ",
      path,
      " does not exist; run seed ",
      run.seed,
      " without --aggregate-only first");
  const nlohmann::json summary = read_json(path);
  check(
      summary.is_object(),
      path,
      ": expected a JSON object, found ",
      summary.type_name());
  for (const char* key : {"arch", "dataset", "claims", "ood", "reports"}) {
    check(
        summary.is_object() && summary.contains(key),
        path,
        ": missing key '",
        key,
        "'");
  }
  // Runs from before --regimes existed had the paper's two.
  const nlohmann::json regimes =
      summary.value("regimes", nlohmann::json{"ic-only", "sdn"});
  const nlohmann::json wanted = {
      {"arch", run.arch}, {"dataset", run.data.name}, {"regimes", run.regimes}};
  const nlohmann::json found = {
      {"arch", summary.at("arch")},
      {"dataset", summary.at("dataset")},
      {"regimes", regimes}};
  check(
      found == wanted,
      "--aggregate-only: ",
      path,
      " is of another experiment (",
      found.dump(),
      ", asked for ",
      wanted.dump(),
      ")");
  return summary;
}

} // namespace

PaperResult run_paper_seeds(const PaperOptions& options) {
  check(!options.seeds.empty(), "run_paper_seeds: no --seeds");
  const std::set<uint64_t> unique(options.seeds.begin(), options.seeds.end());
  check(
      unique.size() == options.seeds.size(),
      "--seeds: each seed once, got a seed twice");
  const std::vector<Regime> regimes = options.parsed_regimes();
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
  // Aggregating finished runs creates no folder: they are in OUT.
  std::error_code ec;
  check(
      !options.aggregate_only || std::filesystem::is_directory(options.out, ec),
      "--aggregate-only: --out ",
      options.out,
      " is not a folder of finished runs (OUT/seed-N/summary.json)");
  const auto lock = OutputLock::acquire(options.out, "--out");
  check_output_folder(options.out, "--out", owned);
  make_dirs(options.out);
  Timer total;
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
    const nlohmann::json summary = options.aggregate_only ?
        finished_summary(runs[i]) :
        run_paper(runs[i]).summary;
    claims.push_back(checked_claims(summary, runs[i].out + "/summary.json"));
    ood.push_back(summary.at("ood"));
    for (const Regime& r : regimes) {
      const std::string path = runs[i].out + "/report-" + r.key + ".json";
      nlohmann::json report = read_json(path);
      // Every key of a report, of the right type (kept files may be
      // damaged), and the same exits as the other seeds'.
      const size_t exits =
          report::report_from_json(report, path).exit_accuracy.size();
      check(
          reports[r.key].empty() ||
              reports[r.key].front().at("exit_accuracy").size() == exits,
          path,
          ": ",
          exits,
          " exits, where the first seed's report has ",
          reports[r.key].empty() ?
              0 :
              reports[r.key].front().at("exit_accuracy").size());
      reports[r.key].push_back(std::move(report));
    }
  }
  nlohmann::json aggregate;
  aggregate["seeds"] = options.seeds;
  aggregate["runs"] = nlohmann::json::array();
  for (const auto& one : runs) {
    aggregate["runs"].push_back(one.out);
  }
  aggregate["claims"] = count_verdicts(claims);
  aggregate["regimes"] = options.regimes;
  aggregate["reports"] = nlohmann::json::object();
  for (const Regime& r : regimes) {
    aggregate["reports"][r.key] = spread(reports.at(r.key));
  }
  aggregate["ood"] = spread(ood);
  aggregate["date"] = utc_date();
  aggregate["seconds"] = total.seconds();
  // Both outputs made before either is written: they always match.
  const std::string page = aggregate_page(aggregate, reports, options);
  write_json_atomic(options.out + "/aggregate.json", aggregate);

  std::cout << "\n### Over " << seeds_text(runs.size())
            << ": mean +- sd (min - max)\n";
  print_regime_tables(std::cout, regimes, aggregate["reports"]);
  std::cout << "\n#### The paper's claims over the seeds\n\n";
  for (const auto& c : aggregate["claims"]) {
    std::cout << "- " << c.at("claim").get<std::string>() << ": supported in "
              << c.at("supported").get<int>() << " of "
              << c.at("runs").get<int>() << "\n";
  }
  PaperResult result;
  result.summary = aggregate;
  result.html = options.out + "/report.html";
  write_file_atomic(result.html, page);
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
