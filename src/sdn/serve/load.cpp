#include "sdn/serve/load.h"

#include "sdn/util/error.h"
#include "sdn/util/format.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <sstream>
#include <utility>

namespace sdn::serve {

std::vector<double> poisson_schedule(
    double rate,
    double duration_s,
    uint64_t seed) {
  check(
      std::isfinite(rate) && rate > 0,
      "load: the rate must be a finite number > 0 requests/s, got ",
      rate);
  check(
      std::isfinite(duration_s) && duration_s > 0,
      "load: the duration must be a finite number > 0 s, got ",
      duration_s);
  check(
      rate * duration_s <= 1e8,
      "load: ",
      rate,
      " requests/s for ",
      duration_s,
      " s is over 1e8 requests");
  std::mt19937_64 random(seed);
  std::vector<double> times;
  times.reserve(static_cast<size_t>(rate * duration_s * 1.1) + 16);
  double t = 0;
  while (true) {
    // u in [0, 1): 1 - u in (0, 1], so the logarithm is finite.
    const double u = static_cast<double>(random() >> 11) * 0x1p-53;
    t += -std::log1p(-u) / rate;
    if (t >= duration_s) {
      return times;
    }
    times.push_back(t);
  }
}

double percentile(std::vector<double> values, double q) {
  check(q >= 0 && q <= 1, "percentile: q must be in [0, 1], got ", q);
  for (const double v : values) {
    check(std::isfinite(v), "percentile: a non-finite value ", v);
  }
  if (values.empty()) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[above] - values[below]);
}

LatencySummary summarize_latency(const std::vector<double>& seconds) {
  LatencySummary s;
  s.count = static_cast<int64_t>(seconds.size());
  s.p50 = percentile(seconds, 0.5);
  s.p95 = percentile(seconds, 0.95);
  s.p99 = percentile(seconds, 0.99);
  s.max = percentile(seconds, 1.0);
  double sum = 0;
  for (const double v : seconds) {
    sum += v;
  }
  s.mean = seconds.empty() ? std::numeric_limits<double>::quiet_NaN() :
                             sum / static_cast<double>(seconds.size());
  return s;
}

namespace {

bool name_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
      (!first && std::isdigit(static_cast<unsigned char>(c)));
}

// Parses the labels between { and } starting at text[i] (just after {);
// returns them as name -> value and leaves i after the }.
std::map<std::string, std::string> parse_labels(
    const std::string& text,
    size_t& i,
    int64_t line) {
  std::map<std::string, std::string> labels;
  while (true) {
    if (i < text.size() && text[i] == '}') {
      ++i;
      return labels;
    }
    const size_t start = i;
    while (i < text.size() && name_char(text[i], i == start)) {
      ++i;
    }
    check(
        i > start && i + 1 < text.size() && text[i] == '=' &&
            text[i + 1] == '"',
        "/metrics line ",
        line,
        ": expected a label NAME=\"VALUE\"");
    const std::string name = text.substr(start, i - start);
    i += 2;
    std::string value;
    while (i < text.size() && text[i] != '"') {
      if (text[i] == '\\' && i + 1 < text.size()) {
        const char next = text[i + 1];
        value += next == 'n' ? '\n' : next;
        i += 2;
      } else {
        value += text[i++];
      }
    }
    check(i < text.size(), "/metrics line ", line, ": unterminated label");
    ++i; // the closing quote
    check(
        labels.emplace(name, value).second,
        "/metrics line ",
        line,
        ": label ",
        name,
        " repeated");
    if (i < text.size() && text[i] == ',') {
      ++i;
    }
  }
}

std::string sample_key(
    const std::string& name,
    const std::map<std::string, std::string>& labels) {
  if (labels.empty()) {
    return name;
  }
  std::string key = name + "{";
  bool first = true;
  for (const auto& [label, value] : labels) {
    key += (first ? "" : ",") + label + "=\"" + value + "\"";
    first = false;
  }
  return key + "}";
}

double parse_value(const std::string& word, int64_t line) {
  if (word == "+Inf" || word == "Inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (word == "-Inf") {
    return -std::numeric_limits<double>::infinity();
  }
  if (word == "NaN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  char* end = nullptr;
  const double v = std::strtod(word.c_str(), &end);
  check(
      !word.empty() && end == word.c_str() + word.size() && std::isfinite(v),
      "/metrics line ",
      line,
      ": expected a number, found '",
      word,
      "'");
  return v;
}

} // namespace

MetricSamples parse_metrics(const std::string& text) {
  MetricSamples samples;
  std::istringstream in(text);
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') {
      continue;
    }
    size_t i = first;
    while (i < line.size() && name_char(line[i], i == first)) {
      ++i;
    }
    check(i > first, "/metrics line ", number, ": expected a metric name");
    const std::string name = line.substr(first, i - first);
    std::map<std::string, std::string> labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      labels = parse_labels(line, i, number);
    }
    std::istringstream rest(line.substr(i));
    std::string value;
    std::string timestamp;
    std::string extra;
    rest >> value >> timestamp >> extra;
    check(
        extra.empty() && !value.empty(),
        "/metrics line ",
        number,
        ": expected NAME[{LABELS}] VALUE [TIMESTAMP]");
    const std::string key = sample_key(name, labels);
    check(
        samples.emplace(key, parse_value(value, number)).second,
        "/metrics line ",
        number,
        ": sample ",
        key,
        " repeated");
  }
  return samples;
}

double metric_value(
    const MetricSamples& samples,
    const std::string& name,
    const std::string& label,
    const std::string& value) {
  std::map<std::string, std::string> labels;
  if (!label.empty()) {
    labels[label] = value;
  }
  const std::string key = sample_key(name, labels);
  const auto it = samples.find(key);
  check(it != samples.end(), "/metrics: no sample ", key);
  return it->second;
}

ServerWork server_work(
    const MetricSamples& before,
    const MetricSamples& after,
    int64_t num_stages) {
  ServerWork work;
  for (int64_t s = 0; s < num_stages; ++s) {
    const std::string stage = std::to_string(s + 1);
    const auto delta = [&](const std::string& name) {
      const double a = metric_value(before, name, "stage", stage);
      const double b = metric_value(after, name, "stage", stage);
      check(
          b >= a,
          "/metrics: ",
          name,
          "{stage=\"",
          stage,
          "\"} went down from ",
          a,
          " to ",
          b,
          " (another server answered?)");
      return b - a;
    };
    work.stage_seconds.push_back(delta("sdn_serve_stage_seconds_total"));
    work.stage_batches.push_back(
        std::llround(delta("sdn_serve_batch_rows_count")));
    work.stage_rows.push_back(std::llround(delta("sdn_serve_batch_rows_sum")));
  }
  return work;
}

bool sustains(const LoadRow& row, const SustainRule& rule) {
  if (row.ok == 0 || row.sent == 0) {
    return false;
  }
  const double lost = static_cast<double>(row.refused + row.failed) /
      static_cast<double>(row.sent);
  return row.latency.p99 <= rule.p99_bound_s && lost <= rule.max_lost_share;
}

double sustained_throughput(
    const std::vector<LoadRow>& rows,
    const std::string& mode,
    const SustainRule& rule) {
  double best = 0;
  for (const auto& row : rows) {
    if (row.mode == mode && sustains(row, rule)) {
      best = std::max(best, row.throughput);
    }
  }
  return best;
}

namespace {

const LoadRow* find_row(
    const std::vector<LoadRow>& rows,
    const std::string& mode,
    double load) {
  for (const auto& row : rows) {
    if (row.mode == mode && std::abs(row.load - load) < 1e-9) {
      return &row;
    }
  }
  return nullptr;
}

bool has_mode(const std::vector<LoadRow>& rows, const std::string& mode) {
  return std::any_of(rows.begin(), rows.end(), [&](const LoadRow& r) {
    return r.mode == mode;
  });
}

} // namespace

std::vector<Verdict> verdicts(
    const std::vector<LoadRow>& rows,
    const SustainRule& rule,
    double factor,
    double load) {
  std::vector<Verdict> out;
  Verdict t;
  t.name = "throughput";
  const std::string bound = str_printf(
      "p99 <= %.1f ms, <= %.1f %% refused or failed",
      rule.p99_bound_s * 1000,
      rule.max_lost_share * 100);
  if (!has_mode(rows, "stage") || !has_mode(rows, "cnn")) {
    t.text = "throughput: not measured (needs stage and cnn in --modes)";
  } else {
    t.value = sustained_throughput(rows, "stage", rule);
    t.reference = sustained_throughput(rows, "cnn", rule);
    if (t.reference <= 0) {
      t.text = str_printf(
          "throughput: not measured (cnn sustains no load at %s)",
          bound.c_str());
    } else {
      t.measured = true;
      t.pass = t.value >= factor * t.reference;
      t.text = str_printf(
          "throughput: %s: stage sustains %.1f/s, %.2fx cnn's %.1f/s at %s "
          "(target >= %.2fx)",
          t.pass ? "PASS" : "FAIL",
          t.value,
          t.value / t.reference,
          t.reference,
          bound.c_str(),
          factor);
    }
  }
  out.push_back(t);
  Verdict p;
  p.name = "p99";
  const LoadRow* stage = find_row(rows, "stage", load);
  const LoadRow* cnn = find_row(rows, "cnn", load);
  if (stage == nullptr || cnn == nullptr) {
    p.text =
        str_printf("p99: not measured (needs stage and cnn at load %g)", load);
  } else if (stage->ok == 0 || cnn->ok == 0) {
    p.text = str_printf(
        "p99: not measured (no 200 answer from %s at load %g)",
        stage->ok == 0 ? "stage" : "cnn",
        load);
  } else {
    p.measured = true;
    p.value = stage->latency.p99;
    p.reference = cnn->latency.p99;
    p.pass = p.value < p.reference;
    p.text = str_printf(
        "p99: %s: at %gx cnn's capacity stage's p99 is %.1f ms, cnn's %.1f ms "
        "(target: below cnn's)",
        p.pass ? "PASS" : "FAIL",
        load,
        p.value * 1000,
        p.reference * 1000);
  }
  out.push_back(p);
  return out;
}

} // namespace sdn::serve
