#pragma once

// The pure parts of `sdn bench serve`, the load benchmark of `sdn serve`
// (docs/serving.md#load-benchmark): the open-loop Poisson schedule of send
// times, latency percentiles, the samples of a GET /metrics answer, one
// measured (mode, load) cell, and the verdicts on the targets. No
// clock and no socket here: src/sdn/app/serve_bench.* drives the server.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sdn::serve {

/// The send times of an open-loop Poisson process of `rate` requests per
/// second over [0, duration_s): seconds from the start, ascending, every
/// one < duration_s. Inter-arrival times are exponential with mean 1/rate,
/// drawn by inversion, -ln(1 - u) / rate, from u = the top 53 bits of
/// std::mt19937_64 seeded with `seed` over 2^53: the same seed gives the
/// same times with every standard library. The count is Poisson with mean
/// rate * duration_s. Throws sdn::Error unless rate and duration_s are
/// finite and > 0, and rate * duration_s <= 1e8.
std::vector<double> poisson_schedule(
    double rate,
    double duration_s,
    uint64_t seed);

/// The q-quantile (q in [0, 1]) of `values` by linear interpolation
/// between the closest ranks (numpy's default, "linear": position
/// q * (n - 1) of the sorted values); NaN for no values. Throws sdn::Error
/// for q outside [0, 1] or a non-finite value.
double percentile(std::vector<double> values, double q);

/// Percentiles of request latencies, in seconds (NaN when count is 0).
struct LatencySummary {
  int64_t count = 0; ///< Latencies summarised.
  double p50 = 0; ///< Median.
  double p95 = 0;
  double p99 = 0;
  double max = 0;
  double mean = 0;
};

/// The summary of `seconds` (percentile()'s interpolation).
LatencySummary summarize_latency(const std::vector<double>& seconds);

/// The samples of a Prometheus text exposition (format 0.0.4): each
/// sample's name with its labels sorted by name, `name{a="1",b="2"}` (no
/// braces without labels), mapped to its value. Comments (#) and blank
/// lines are skipped.
using MetricSamples = std::map<std::string, double>;

/// Parses GET /metrics' text. Throws sdn::Error naming the line (1-based)
/// for a line that is not `NAME[{LABELS}] VALUE [TIMESTAMP]`, a repeated
/// sample, or a value that is not a number (NaN and +Inf/-Inf are numbers).
MetricSamples parse_metrics(const std::string& text);

/// The value of `name` with one label `label`="`value`" ("" label: no
/// labels). Throws sdn::Error naming the sample when it is missing.
double metric_value(
    const MetricSamples& samples,
    const std::string& name,
    const std::string& label = "",
    const std::string& value = "");

/// What sdn serve's counters say about a stretch of time: the difference
/// of two scrapes of one server with `num_stages` stages.
struct ServerWork {
  /// Seconds the executor ran each stage's batches
  /// (sdn_serve_stage_seconds_total{stage}), [num_stages].
  std::vector<double> stage_seconds;
  /// Batches run at each stage (sdn_serve_batch_rows_count{stage}).
  std::vector<int64_t> stage_batches;
  /// Rows those batches held (sdn_serve_batch_rows_sum{stage}).
  std::vector<int64_t> stage_rows;
};

/// `after` minus `before` of one server. Throws sdn::Error naming a
/// missing sample, or a counter that went down (another server answered).
ServerWork server_work(
    const MetricSamples& before,
    const MetricSamples& after,
    int64_t num_stages);

/// One measured cell: one serving mode at one offered load. Counts are of
/// the requests scheduled in the measured window (warm-up excluded); every
/// one of them is awaited, so ok + refused + failed == sent.
struct LoadRow {
  std::string mode; ///< "stage", "batch" or "cnn".
  double load = 0; ///< The offered rate as a multiple of cnn's capacity.
  double offered_rate = 0; ///< Requests (images) per second offered.
  double window_s = 0; ///< The measured window's length.
  int64_t sent = 0; ///< Requests scheduled in the window.
  int64_t ok = 0; ///< Answered 200.
  int64_t refused = 0; ///< Answered 503 (queue full).
  int64_t failed = 0; ///< Any other status, or no answer (connection error).
  /// Why the failed ones failed ("status 500", "connection: ..."), counted.
  std::map<std::string, int64_t> errors;
  /// 200 answers per second: ok / window_s.
  double throughput = 0;
  /// Of the 200 answers, from each request's scheduled send time to its
  /// answer read (a request the client sent late still counts from its
  /// schedule).
  LatencySummary latency;
  double accuracy = 0; ///< Share of 200 answers whose class is the label.
  double mean_cost = 0; ///< Mean `cost` of the 200 answers (CNN = 1).
  /// Answers per exit (0-based exits: index E-1 is the final exit).
  std::vector<int64_t> exits;
  /// How late the client sent, at most (seconds after the schedule): large
  /// values mean the load generator, not the server, was the bottleneck.
  double max_send_lag = 0;
  ServerWork work; ///< Over the window and the tail that answered it.
};

/// When a cell counts as sustained: its p99 latency is at most
/// `p99_bound_s` and at most `max_lost_share` of its requests were
/// refused or failed (so shedding load with 503 does not pass for speed).
struct SustainRule {
  double p99_bound_s = 0;
  double max_lost_share = 0.01;
};

/// True when `row` has 200 answers and meets `rule`.
bool sustains(const LoadRow& row, const SustainRule& rule);

/// The highest throughput among `mode`'s rows that sustain `rule`; 0 when
/// none does.
double sustained_throughput(
    const std::vector<LoadRow>& rows,
    const std::string& mode,
    const SustainRule& rule);

/// One of the targets, evaluated.
struct Verdict {
  std::string name; ///< "throughput" or "p99".
  bool measured = false; ///< False: the rows needed are missing.
  bool pass = false; ///< Meaningful when measured.
  double value = 0; ///< stage's number (throughput/s, p99 s).
  double reference = 0; ///< What it is compared with.
  std::string text; ///< One line saying what was compared and the outcome.
};

/// The two targets on `rows`: (1) "throughput": stage's sustained
/// throughput >= `factor` (1.5) x cnn's, at `rule`'s bound; not measured
/// when either mode has no rows or cnn sustains none. (2) "p99": at load
/// `load` (0.7) stage's p99 < cnn's; not measured without both rows, or
/// when either has no 200 answer.
std::vector<Verdict> verdicts(
    const std::vector<LoadRow>& rows,
    const SustainRule& rule,
    double factor = 1.5,
    double load = 0.7);

} // namespace sdn::serve
