#include "sdn/serve/metrics.h"

#include "sdn/util/error.h"
#include "sdn/util/format.h"

#include <algorithm>
#include <utility>

namespace sdn::serve {

namespace {

// Classify durations, seconds: 1 ms to 10 s.
const std::vector<double>& duration_bounds() {
  static const std::vector<double> bounds = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return bounds;
}

// A bucket bound: every bound here has at most 6 significant digits.
std::string bound_text(double x) {
  return str_printf("%g", x);
}

void render_histogram(
    std::string& out,
    const std::string& name,
    const std::string& labels,
    const Histogram& h) {
  int64_t cumulative = 0;
  const std::string sep = labels.empty() ? "" : labels + ",";
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += h.counts[i];
    out += str_printf(
        "%s_bucket{%sle=\"%s\"} %lld\n",
        name.c_str(),
        sep.c_str(),
        bound_text(h.bounds[i]).c_str(),
        static_cast<long long>(cumulative));
  }
  cumulative += h.counts.back();
  out += str_printf(
      "%s_bucket{%sle=\"+Inf\"} %lld\n",
      name.c_str(),
      sep.c_str(),
      static_cast<long long>(cumulative));
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += str_printf("%s_sum%s %.17g\n", name.c_str(), braces.c_str(), h.sum);
  out += str_printf(
      "%s_count%s %lld\n",
      name.c_str(),
      braces.c_str(),
      static_cast<long long>(h.count));
}

void header(
    std::string& out,
    const char* name,
    const char* type,
    const char* help) {
  out += str_printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

} // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds(std::move(upper_bounds)), counts(bounds.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto it = std::lower_bound(bounds.begin(), bounds.end(), value);
  ++counts[static_cast<size_t>(it - bounds.begin())];
  sum += value;
  ++count;
}

Metrics::Metrics(int64_t num_stages, int64_t num_exits, int64_t max_batch)
    : classify_seconds_(duration_bounds()),
      exits_(static_cast<size_t>(num_exits), 0),
      stage_seconds_(static_cast<size_t>(num_stages), 0.0) {
  check(
      num_stages >= 1 && num_exits >= 1 && max_batch >= 1,
      "serve metrics: ",
      num_stages,
      " stages, ",
      num_exits,
      " exits, batches of ",
      max_batch);
  std::vector<double> bounds;
  for (int64_t b = 1; b < max_batch; b *= 2) {
    bounds.push_back(static_cast<double>(b));
  }
  bounds.push_back(static_cast<double>(max_batch));
  batch_rows_.assign(static_cast<size_t>(num_stages), Histogram(bounds));
}

void Metrics::record_batch(int64_t stage, int64_t rows, double seconds) {
  const std::lock_guard<std::mutex> lock(mutex_);
  batch_rows_.at(static_cast<size_t>(stage)).observe(static_cast<double>(rows));
  stage_seconds_.at(static_cast<size_t>(stage)) += seconds;
}

void Metrics::record_exit(int64_t exit) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++exits_.at(static_cast<size_t>(exit));
}

void Metrics::record_response(const std::string& path, int status) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{path, status}];
}

void Metrics::record_classify_seconds(double seconds) {
  const std::lock_guard<std::mutex> lock(mutex_);
  classify_seconds_.observe(seconds);
}

std::string Metrics::render(
    const std::vector<int64_t>& queue_rows,
    int64_t in_flight) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  header(
      out,
      "sdn_serve_requests_total",
      "counter",
      "HTTP requests answered, by path and status code.");
  for (const auto& [key, count] : requests_) {
    out += str_printf(
        "sdn_serve_requests_total{path=\"%s\",code=\"%d\"} %lld\n",
        key.first.c_str(),
        key.second,
        static_cast<long long>(count));
  }
  header(
      out,
      "sdn_serve_classify_seconds",
      "histogram",
      "Seconds from a classify request's body read to its answer.");
  render_histogram(out, "sdn_serve_classify_seconds", "", classify_seconds_);
  header(
      out,
      "sdn_serve_exits_total",
      "counter",
      "Images answered at each exit (1-based; the last is the final exit).");
  for (size_t e = 0; e < exits_.size(); ++e) {
    out += str_printf(
        "sdn_serve_exits_total{exit=\"%zu\"} %lld\n",
        e + 1,
        static_cast<long long>(exits_[e]));
  }
  header(
      out,
      "sdn_serve_batch_rows",
      "histogram",
      "Rows per batch run at each stage (1-based).");
  for (size_t s = 0; s < batch_rows_.size(); ++s) {
    render_histogram(
        out,
        "sdn_serve_batch_rows",
        str_printf("stage=\"%zu\"", s + 1),
        batch_rows_[s]);
  }
  header(
      out,
      "sdn_serve_stage_seconds_total",
      "counter",
      "Seconds spent running each stage's batches.");
  for (size_t s = 0; s < stage_seconds_.size(); ++s) {
    out += str_printf(
        "sdn_serve_stage_seconds_total{stage=\"%zu\"} %.17g\n",
        s + 1,
        stage_seconds_[s]);
  }
  header(
      out,
      "sdn_serve_queue_rows",
      "gauge",
      "Rows waiting in each stage's queue.");
  for (size_t s = 0; s < queue_rows.size(); ++s) {
    out += str_printf(
        "sdn_serve_queue_rows{stage=\"%zu\"} %lld\n",
        s + 1,
        static_cast<long long>(queue_rows[s]));
  }
  header(
      out,
      "sdn_serve_in_flight_images",
      "gauge",
      "Images admitted and not yet answered.");
  out += str_printf(
      "sdn_serve_in_flight_images %lld\n", static_cast<long long>(in_flight));
  return out;
}

} // namespace sdn::serve
