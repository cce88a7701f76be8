// Spread over runs (pipeline/aggregate.h).
#include "sdn/pipeline/aggregate.h"

#include "sdn/util/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace sdn::pipeline {

namespace {

bool is_figure(const nlohmann::json& v) {
  return v.is_number() || v.is_null();
}

nlohmann::json number_spread(const std::vector<nlohmann::json>& runs) {
  std::vector<double> values;
  for (const auto& r : runs) {
    if (r.is_number()) {
      values.push_back(r.get<double>());
    }
  }
  const auto n = static_cast<int>(values.size());
  nlohmann::json out = {
      {"mean", nullptr},
      {"sd", nullptr},
      {"min", nullptr},
      {"max", nullptr},
      {"n", n}};
  if (n == 0) {
    return out;
  }
  double sum = 0;
  for (const double v : values) {
    sum += v;
  }
  const double mean = sum / n;
  out["mean"] = mean;
  out["min"] = *std::min_element(values.begin(), values.end());
  out["max"] = *std::max_element(values.begin(), values.end());
  if (n >= 2) {
    double squares = 0;
    for (const double v : values) {
      squares += (v - mean) * (v - mean);
    }
    out["sd"] = std::sqrt(squares / (n - 1));
  }
  return out;
}

double number_or_nan(const nlohmann::json& v) {
  return v.is_number() ? v.get<double>() :
                         std::numeric_limits<double>::quiet_NaN();
}

} // namespace

nlohmann::json spread(const std::vector<nlohmann::json>& runs) {
  check(!runs.empty(), "spread: no runs");
  const nlohmann::json& first = runs.front();
  const bool all_figures = std::all_of(runs.begin(), runs.end(), is_figure);
  const bool any_number =
      std::any_of(runs.begin(), runs.end(), [](const nlohmann::json& r) {
        return r.is_number();
      });
  if (all_figures && any_number) {
    return number_spread(runs);
  }
  if (first.is_array() &&
      std::all_of(runs.begin(), runs.end(), [&](const nlohmann::json& r) {
        return r.is_array() && r.size() == first.size();
      })) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < first.size(); ++i) {
      std::vector<nlohmann::json> items;
      for (const auto& r : runs) {
        items.push_back(r[i]);
      }
      out.push_back(spread(items));
    }
    return out;
  }
  if (first.is_object() &&
      std::all_of(runs.begin(), runs.end(), [](const nlohmann::json& r) {
        return r.is_object();
      })) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : first.items()) {
      std::vector<nlohmann::json> items;
      for (const auto& r : runs) {
        if (!r.contains(key)) {
          break;
        }
        items.push_back(r[key]);
      }
      if (items.size() == runs.size()) {
        out[key] = spread(items);
      }
    }
    return out;
  }
  if (std::all_of(runs.begin(), runs.end(), [&](const nlohmann::json& r) {
        return r == first;
      })) {
    return first;
  }
  return {{"values", runs}};
}

Spread read_spread(const nlohmann::json& value, const std::string& what) {
  check(
      value.is_object() && value.contains("mean") && value.contains("n") &&
          value["n"].is_number_integer(),
      what,
      ": expected a spread {mean, sd, min, max, n}, found ",
      value.dump().substr(0, 80));
  Spread s;
  s.mean = number_or_nan(value["mean"]);
  s.sd = number_or_nan(value.value("sd", nlohmann::json()));
  s.min = number_or_nan(value.value("min", nlohmann::json()));
  s.max = number_or_nan(value.value("max", nlohmann::json()));
  s.n = value["n"].get<int>();
  return s;
}

std::string format_spread(const Spread& s, int precision) {
  if (s.n == 0 || std::isnan(s.mean)) {
    return "-";
  }
  char buf[128];
  if (s.n == 1 || std::isnan(s.sd)) {
    std::snprintf(buf, sizeof buf, "%.*f", precision, s.mean);
    return buf;
  }
  std::snprintf(
      buf,
      sizeof buf,
      "%.*f +- %.*f (%.*f - %.*f)",
      precision,
      s.mean,
      precision,
      s.sd,
      precision,
      s.min,
      precision,
      s.max);
  return buf;
}

nlohmann::json count_verdicts(const std::vector<nlohmann::json>& runs) {
  check(!runs.empty(), "count_verdicts: no runs");
  const size_t claims = runs.front().size();
  for (size_t r = 0; r < runs.size(); ++r) {
    check(
        runs[r].is_array() && runs[r].size() == claims,
        "count_verdicts: run ",
        r + 1,
        " has ",
        runs[r].size(),
        " claims, run 1 has ",
        claims);
  }
  nlohmann::json out = nlohmann::json::array();
  for (size_t c = 0; c < claims; ++c) {
    const std::string text = runs.front()[c].at("claim").get<std::string>();
    nlohmann::json verdicts = nlohmann::json::array();
    nlohmann::json measured = nlohmann::json::array();
    int supported = 0;
    for (size_t r = 0; r < runs.size(); ++r) {
      const auto& claim = runs[r][c];
      check(
          claim.at("claim").get<std::string>() == text,
          "count_verdicts: claim ",
          c + 1,
          " of run ",
          r + 1,
          " is '",
          claim.at("claim").get<std::string>(),
          "', run 1's is '",
          text,
          "'");
      const std::string verdict = claim.at("verdict").get<std::string>();
      supported += verdict == "supported" ? 1 : 0;
      verdicts.push_back(verdict);
      measured.push_back(claim.at("measured"));
    }
    out.push_back(
        {{"claim", text},
         {"supported", supported},
         {"runs", static_cast<int>(runs.size())},
         {"verdicts", verdicts},
         {"measured", measured}});
  }
  return out;
}

const std::vector<FigureRow>& figure_rows() {
  static const std::vector<FigureRow> rows = {
      {"accuracy at 25 % budget (%)", "/budgets/0.25/accuracy", 2, 1},
      {"cost at 25 % budget", "/budgets/0.25/cost", 3, 0},
      {"accuracy at 50 % budget (%)", "/budgets/0.5/accuracy", 2, 1},
      {"cost at 50 % budget", "/budgets/0.5/cost", 3, 0},
      {"accuracy at 75 % budget (%)", "/budgets/0.75/accuracy", 2, 1},
      {"cost at 75 % budget", "/budgets/0.75/cost", 3, 0},
      {"best accuracy of any threshold (%)", "/budgets/max/accuracy", 2, 1},
      {"destructive share of the errors",
       "/overthinking/destructive/rate",
       3,
       -1},
      {"confusion AUROC (wrong vs right)", "/confusion/auroc", 3, 1},
      {"confidence AUROC (wrong vs right)",
       "/confusion/confidence/auroc",
       3,
       0}};
  return rows;
}

std::string spread_cell(
    const nlohmann::json& spread_report,
    const std::string& key,
    int precision) {
  const nlohmann::json::json_pointer pointer(key);
  if (!spread_report.contains(pointer)) {
    return "-";
  }
  return format_spread(read_spread(spread_report.at(pointer), key), precision);
}

namespace {

const nlohmann::json& regime_report(
    const nlohmann::json& spread_reports,
    const Regime& regime) {
  check(
      spread_reports.contains(regime.key),
      "the regimes' tables: no report of ",
      regime.name);
  return spread_reports.at(regime.key);
}

std::string exit_name(size_t e, size_t exits) {
  return e + 1 == exits ? std::string("Final") : "IC" + std::to_string(e + 1);
}

} // namespace

std::string best_regime(
    const std::vector<Regime>& regimes,
    const nlohmann::json& spread_reports,
    const FigureRow& row) {
  if (row.better == 0) {
    return "-";
  }
  const nlohmann::json::json_pointer pointer(row.key);
  std::string best = "-";
  double best_mean = std::numeric_limits<double>::quiet_NaN();
  for (const Regime& r : regimes) {
    const auto& report = regime_report(spread_reports, r);
    if (!report.contains(pointer)) {
      continue;
    }
    const Spread s = read_spread(report.at(pointer), row.key);
    if (s.n == 0 || std::isnan(s.mean)) {
      continue;
    }
    if (std::isnan(best_mean) ||
        (row.better > 0 ? s.mean > best_mean : s.mean < best_mean)) {
      best_mean = s.mean;
      best = r.title;
    } else if (s.mean == best_mean) {
      best += " = " + r.title;
    }
  }
  return best;
}

void print_regime_tables(
    std::ostream& out,
    const std::vector<Regime>& regimes,
    const nlohmann::json& spread_reports) {
  check(!regimes.empty(), "the regimes' tables: no regimes");
  const auto& first = regime_report(spread_reports, regimes.front());
  const size_t exits = first.at("exit_accuracy").size();
  out << "\n#### Accuracy per exit (test, %)\n\n| Network |";
  for (size_t e = 0; e < exits; ++e) {
    out << " " << exit_name(e, exits) << " |";
  }
  out << " CNN |\n|---|";
  for (size_t e = 0; e <= exits; ++e) {
    out << "---|";
  }
  out << "\n";
  for (const Regime& r : regimes) {
    const auto& report = regime_report(spread_reports, r);
    out << "| " << r.title << " |";
    for (size_t e = 0; e < exits; ++e) {
      out << " "
          << spread_cell(report, "/exit_accuracy/" + std::to_string(e), 2)
          << " |";
    }
    out << " " << spread_cell(report, "/cnn_accuracy", 2) << " |\n";
  }
  out << "\n#### Early exit, overthinking and confusion\n\n| Figure |";
  for (const Regime& r : regimes) {
    out << " " << r.title << " |";
  }
  const bool several = regimes.size() > 1;
  out << (several ? " Best (mean) |\n|---|" : "\n|---|");
  for (size_t i = 0; i < regimes.size() + (several ? 1 : 0); ++i) {
    out << "---|";
  }
  out << "\n";
  for (const FigureRow& row : figure_rows()) {
    out << "| " << row.label << " |";
    for (const Regime& r : regimes) {
      out << " "
          << spread_cell(
                 regime_report(spread_reports, r), row.key, row.precision)
          << " |";
    }
    if (several) {
      out << " " << best_regime(regimes, spread_reports, row) << " |";
    }
    out << "\n";
  }
}

} // namespace sdn::pipeline
