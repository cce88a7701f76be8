#pragma once

// `sdn bench serve`: the load benchmark of `sdn serve` (issue #17,
// docs/serving.md#load-benchmark). It starts `sdn serve` as a child
// process on a loopback port in each mode, measures the cnn mode's
// capacity with a closed loop, then offers each mode open-loop Poisson
// loads (multiples of that capacity) of the checkpoint's test-split images
// over real HTTP, one image per request, and measures each (mode, load):
// throughput, latency percentiles from each request's scheduled send time,
// refusals, accuracy, cost and where the server's time went (/metrics). A
// fault run adds clients that send garbage, oversized or cut bodies or
// trickle their bytes. The pure statistics are src/sdn/serve/load.h.

#include "sdn/analysis/early_exit.h"
#include "sdn/serve/engine.h"
#include "sdn/serve/load.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace sdn::app {

/// What `sdn bench serve` is asked for (the command's options).
struct ServeBenchOptions {
  /// The `sdn` executable started as `sdn serve` (the command passes its
  /// own, /proc/self/exe).
  std::string sdn_binary;
  std::string checkpoint; ///< --checkpoint: an SDN (a CNN: --modes cnn).
  std::string data_dir; ///< --data-dir: where the test split is read.
  /// The exit policy of stage and batch modes, as `sdn serve` takes it.
  analysis::ExitPolicyRequest policy;
  /// --max-batch, --max-wait-ms, --queue-limit of every server started.
  serve::EngineOptions engine;
  /// --threads of the servers (0: sdn serve's default, one per core).
  int threads = 0;
  /// --modes: any of stage, batch, cnn, each at most once.
  std::vector<std::string> modes = {"stage", "batch", "cnn"};
  /// --loads: offered rates as multiples of cnn's capacity, ascending.
  std::vector<double> loads = {0.3, 0.5, 0.7, 0.9, 1.2, 1.5};
  double warmup_s = 3; ///< --warmup-s: unmeasured seconds before each window.
  double duration_s = 10; ///< --duration-s: each measured window.
  double capacity_s = 10; ///< --capacity-s: the closed-loop capacity window.
  /// --connections: the most requests the load generator has in flight
  /// (sender threads; each request opens its own connection).
  int64_t connections = 256;
  uint64_t seed = 1; ///< --seed: arrivals, image order and faults.
  /// --p99-bound-ms: the p99 bound of "sustained", in seconds; unset: 5 x
  /// cnn's p99 at the lowest load.
  std::optional<double> p99_bound_s;
  /// --fault-share: the share of all clients that misbehave in the fault
  /// run, in [0, 0.9]; 0: no fault run.
  double fault_share = 0;
  /// --fault-load: the load of the fault run (one of `loads`).
  double fault_load = 0.7;
  /// Seconds a well-behaved request may take before it counts as failed.
  double request_timeout_s = 30;

  /// Throws sdn::Error naming the option: no or unknown or repeated modes;
  /// loads not > 0, finite and strictly ascending; windows not > 0 (warm-up
  /// >= 0); connections < 1; a fault share outside [0, 0.9]; a fault load
  /// that is not one of the loads; a bound not > 0; no p99 bound without
  /// cnn in the modes; and the engine's and policy's own checks.
  void validate() const;
};

/// The fault run's misbehaving clients of one kind.
struct FaultKindResult {
  /// "garbage" (random bytes as .npy), "oversized" (Content-Length over
  /// the body limit), "disconnect" (half the body, then close), "trickle"
  /// (a valid request sent in pieces over about two seconds).
  std::string kind;
  int64_t sent = 0;
  /// What they got: "status 400", "closed: ..." and so on, counted.
  std::map<std::string, int64_t> outcomes;
};

/// The fault run: the fault-free run's schedule and images again (the
/// well-behaved clients), with misbehaving clients added at the same time.
struct FaultRun {
  std::string mode;
  double load = 0;
  double share = 0; ///< Of all clients, the misbehaving ones.
  serve::LoadRow well_behaved; ///< The well-behaved clients, measured.
  /// Requests answered 200 in both runs, and of them those whose class is
  /// the same in both.
  int64_t compared = 0;
  int64_t same_class = 0;
  std::vector<FaultKindResult> faults;
  int64_t rss_before_kb = 0; ///< The server's VmRSS before the fault run.
  int64_t rss_after_kb = 0; ///< And after it.
  int64_t peak_rss_kb = 0; ///< Its VmHWM after it.
  /// The server process was alive and GET /healthz answered 200 after it.
  bool healthy_after = false;
};

/// How one server process ended.
struct ServerEnd {
  std::string mode;
  /// "exit status 0" after SIGTERM; anything else is a failure ("killed by
  /// signal 11", "exit status 1", "did not stop within 60 s").
  std::string end;
  bool clean = false; ///< Exited with status 0 after SIGTERM.
  int64_t peak_rss_kb = 0; ///< VmHWM just before SIGTERM.
};

/// Everything measured.
struct ServeBenchResult {
  ServeBenchOptions options;
  std::string policy; ///< The resolved policy's describe() ("" cnn only).
  int64_t num_exits = 0;
  int64_t test_images = 0; ///< Test-split images the requests cycle through.
  /// cnn mode's capacity: 200 answers/s of a closed loop of
  /// `capacity_connections` clients over options.capacity_s.
  double capacity = 0;
  int64_t capacity_connections = 0;
  std::vector<serve::LoadRow> rows; ///< Mode by mode, load by load.
  serve::SustainRule rule; ///< The bound used (given or 5 x cnn's p99).
  bool bound_given = false;
  std::vector<serve::Verdict> verdicts;
  std::optional<FaultRun> fault;
  std::vector<ServerEnd> servers;
};

/// Runs the benchmark; progress lines go to `progress`. Throws sdn::Error
/// for bad options, checkpoints, traces or data, for a server that does
/// not start (its own error line is on stderr), and for a server that dies
/// during the run.
ServeBenchResult run_serve_bench(
    const ServeBenchOptions& options,
    std::ostream& progress);

/// Everything as JSON: options, capacity, rows (with the per-stage work),
/// the bound, verdicts, the fault run and how the servers ended.
nlohmann::json serve_bench_json(const ServeBenchResult& result);

/// The tables and verdicts for a terminal.
void print_serve_bench(std::ostream& out, const ServeBenchResult& result);

/// A self-contained HTML page (report::render_page): latency percentiles
/// and throughput against offered load for every mode (svg::Plot), the
/// table, where the time went, the verdicts and the fault run.
std::string render_serve_bench_html(
    const ServeBenchResult& result,
    const std::string& subtitle);

} // namespace sdn::app
