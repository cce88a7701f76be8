// `sdn paper --seeds`: the pipeline once per seed, then the spread over the
// seeds (pipeline/paper.h, run_paper_seeds).
#include "sdn/pipeline/aggregate.h"
#include "sdn/pipeline/paper.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/output_lock.h"
#include "sdn/util/timer.h"

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

void print_figures_table(const nlohmann::json& reports) {
  std::cout << "\n#### Early exit, overthinking and confusion\n\n"
               "| Figure | IC-only | SDN training |\n|---|---|---|\n";
  const std::vector<std::pair<std::string, std::pair<std::string, int>>> rows =
      {{"accuracy at 25 % budget (%)", {"/budgets/0.25/accuracy", 2}},
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
  for (const auto& [label, where] : rows) {
    const nlohmann::json::json_pointer key(where.first);
    std::cout << "| " << label << " | "
              << cell(reports.at("ic_only"), key, where.second) << " | "
              << cell(reports.at("sdn"), key, where.second) << " |\n";
  }
}

} // namespace

PaperResult run_paper_seeds(const PaperOptions& options) {
  check(!options.seeds.empty(), "run_paper_seeds: no --seeds");
  const std::set<uint64_t> unique(options.seeds.begin(), options.seeds.end());
  check(
      unique.size() == options.seeds.size(),
      "--seeds: each seed once, got a seed twice");
  std::vector<PaperOptions> runs;
  std::vector<std::string> owned = {"aggregate.json"};
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
  std::fprintf(
      stderr,
      "\naggregate: %s/aggregate.json\nthis invocation took %.0f s\n",
      options.out.c_str(),
      total.seconds());
  PaperResult result;
  result.summary = aggregate;
  return result;
}

} // namespace sdn::pipeline
