#pragma once

// What `sdn serve` counts, rendered for GET /metrics in Prometheus's text
// exposition format, version 0.0.4 (docs/serving.md#metrics):
// https://prometheus.io/docs/instrumenting/exposition_formats/

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace sdn::serve {

/// A cumulative histogram: counts of observations <= each upper bound.
struct Histogram {
  std::vector<double> bounds; ///< Upper bounds, ascending (+Inf implied).
  std::vector<int64_t> counts; ///< Per bound, not cumulative; last: +Inf.
  double sum = 0; ///< Sum of the observations.
  int64_t count = 0; ///< Observations.

  /// A histogram with these upper bounds (ascending).
  explicit Histogram(std::vector<double> upper_bounds);
  /// Counts `value` in the first bucket whose bound is >= value.
  void observe(double value);
};

/// The server's counters. Thread-safe: the engine's executor and the HTTP
/// threads record, /metrics renders.
class Metrics {
 public:
  /// For a model of `num_stages` stages and `num_exits` exits whose
  /// batches hold at most `max_batch` rows (the batch-size buckets are the
  /// powers of two below it, and it).
  Metrics(int64_t num_stages, int64_t num_exits, int64_t max_batch);

  /// A batch of `rows` rows ran stage `stage` (0-based) in `seconds`.
  void record_batch(int64_t stage, int64_t rows, double seconds);
  /// An image left at exit `exit` (0-based).
  void record_exit(int64_t exit);
  /// A request to `path` (a route, or "other") was answered with HTTP
  /// `status`.
  void record_response(const std::string& path, int status);
  /// A classify request admitted to the engine was answered `seconds` after
  /// its body was read.
  void record_classify_seconds(double seconds);

  /// The text of GET /metrics, with `queue_rows` (rows waiting per stage)
  /// and `in_flight` (images admitted, not answered) as gauges. Metrics
  /// (stages and exits 1-based in labels):
  /// sdn_serve_requests_total{path,code} counter (every response);
  /// sdn_serve_classify_seconds histogram (admitted classify requests,
  /// from the body read to the answer);
  /// sdn_serve_exits_total{exit} counter (images answered per exit);
  /// sdn_serve_batch_rows{stage} histogram (rows per batch);
  /// sdn_serve_stage_seconds_total{stage} counter (time running the
  /// stage's batches); sdn_serve_queue_rows{stage} gauge;
  /// sdn_serve_in_flight_images gauge.
  std::string render(const std::vector<int64_t>& queue_rows, int64_t in_flight)
      const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  Histogram classify_seconds_;
  std::vector<int64_t> exits_;
  std::vector<Histogram> batch_rows_;
  std::vector<double> stage_seconds_;
};

} // namespace sdn::serve
