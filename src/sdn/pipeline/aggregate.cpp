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

} // namespace sdn::pipeline
