// `sdn serve`: an HTTP/1.1 classification server over an SDN, exiting
// early per image (docs/serving.md); and `sdn bench serve`, its load
// benchmark.
#include "commands.h"
#include "option_checks.h"
#include "policy_options.h"

#include "sdn/analysis/early_exit.h"
#include "sdn/analysis/exit_policy.h"
#include "sdn/app/serve_bench.h"
#include "sdn/report/html.h"
#include "sdn/serve/server.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

namespace sdn::cli {

namespace {

struct ServeCli {
  serve::ServeOptions options;
  std::string mode = "stage";
  PolicyOptions policy;
  std::string api_key_file;
  double max_wait_ms = 2;
  const CLI::App* app = nullptr;
};

void run_serve_command(ServeCli& cli) {
  auto& o = cli.options;
  o.mode = serve::parse_serve_mode(cli.mode);
  if (o.mode == serve::ServeMode::kCnn) {
    PolicyOptions::reject(
        *cli.app, "with --mode cnn (the plain CNN runs no exit policy)");
  } else {
    o.policy = cli.policy.resolve();
  }
  o.engine.max_wait = std::chrono::microseconds(
      static_cast<int64_t>(cli.max_wait_ms * 1000.0 + 0.5));
  if (!cli.api_key_file.empty()) {
    o.server.api_key = serve::read_api_key(cli.api_key_file);
  }
  // One HTTP thread per image the queue admits, up to 64, and 4 more so
  // that health checks, metrics and refusals are answered while the queue
  // is full (not reserved: docs/serving.md#overload-and-shutdown).
  o.server.http_threads = std::min<int64_t>(o.engine.queue_limit, 64) + 4;
  o.server.validate();
  apply_global_options();
  serve::run_serve(o, std::cout);
}

struct BenchServeCli {
  app::ServeBenchOptions options;
  PolicyOptions policy;
  std::string json;
  std::string html;
  double max_wait_ms = 2;
  double p99_bound_ms = 0;
  CLI::Option* bound_option = nullptr;
  const CLI::App* app = nullptr;
};

// This process's executable: the `sdn` that runs `sdn serve`.
std::string own_executable() {
  std::vector<char> path(4096);
  const auto n = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  check(n > 0, "bench serve: cannot read /proc/self/exe");
  return std::string(path.data(), static_cast<size_t>(n));
}

void run_bench_serve(BenchServeCli& cli) {
  auto& o = cli.options;
  const auto& modes = o.modes;
  if (modes.size() == 1 && modes[0] == "cnn") {
    PolicyOptions::reject(
        *cli.app, "with --modes cnn (the plain CNN runs no exit policy)");
  } else {
    o.policy = cli.policy.resolve();
  }
  if (o.fault_share == 0) {
    reject_given(
        *cli.app, {"--fault-load"}, "without --fault-share (no fault run)");
  }
  o.engine.max_wait = std::chrono::microseconds(
      static_cast<int64_t>(cli.max_wait_ms * 1000.0 + 0.5));
  if (cli.bound_option->count() > 0) {
    o.p99_bound_s = cli.p99_bound_ms / 1000.0;
  }
  o.threads = global_options().threads;
  o.sdn_binary = own_executable();
  o.validate();
  // Checked before the minutes of measurement, not after them.
  for (const auto& [option, path] :
       {std::pair<const char*, std::string>{"--json", cli.json},
        {"--html", cli.html}}) {
    if (path.empty()) {
      continue;
    }
    const std::filesystem::path file(path);
    check(
        !file.has_parent_path() ||
            std::filesystem::is_directory(file.parent_path()),
        option,
        " ",
        path,
        ": no folder ",
        file.parent_path().string());
    check(
        !std::filesystem::is_directory(file),
        option,
        " ",
        path,
        ": a folder; expected a file name");
  }
  apply_global_options();
  const auto result = app::run_serve_bench(o, std::cerr);
  app::print_serve_bench(std::cout, result);
  if (!cli.json.empty()) {
    write_json_atomic(cli.json, app::serve_bench_json(result));
  }
  if (!cli.html.empty()) {
    write_file_atomic(
        cli.html,
        app::render_serve_bench_html(
            result, "sdn bench serve --checkpoint " + o.checkpoint));
  }
}

} // namespace

void setup_bench_serve(CLI::App& bench) {
  auto cli = std::make_shared<BenchServeCli>();
  auto& o = cli->options;
  o.engine.queue_limit = 64;
  auto* sub = bench.add_subcommand(
      "serve",
      "Load benchmark of sdn serve: starts `sdn serve` on a loopback port in "
      "each mode (stage, batch, cnn), measures cnn mode's capacity with a "
      "closed loop, then offers each mode open-loop Poisson loads of "
      "--loads x that capacity over HTTP, one test-split image per request "
      "(a float32 .npy). Per mode and load: throughput, p50/p95/p99/max "
      "latency from each request's scheduled send time, 503 share, "
      "accuracy, mean cost and the executor's seconds per stage (from "
      "/metrics); the sustained throughput at a p99 bound and the verdicts "
      "on the targets (stage >= 1.5x cnn's sustained throughput; stage's "
      "p99 below cnn's at 0.7x). --fault-share adds a fault run. A table on "
      "stdout, progress on stderr.\n"
      "Examples:\n"
      "  sdn bench serve --checkpoint runs/demo/sdn/last --budget 0.5 "
      "--val-trace runs/demo/traces/sdn-val --json serve.json --html "
      "serve.html\n"
      "  sdn bench serve --checkpoint runs/sdn/last --threshold 0.9 --modes "
      "stage,cnn --loads 0.5,1 --duration-s 5 --fault-share 0.1 "
      "--fault-load 0.5");
  sub->add_option("--checkpoint", o.checkpoint, "Checkpoint directory")
      ->required();
  sub->add_option(
      "--data-dir",
      o.data_dir,
      "Data directory of the test split (default: the checkpoint's)");
  cli->policy.add_to(sub, "images");
  sub->add_option(
         "--max-batch",
         o.engine.max_batch,
         "sdn serve --max-batch of every server")
      ->capture_default_str()
      ->check(in_range(1, 4096));
  sub->add_option(
         "--max-wait-ms",
         cli->max_wait_ms,
         "sdn serve --max-wait-ms of every server")
      ->capture_default_str()
      ->check(in_range(0, 10000));
  sub->add_option(
         "--queue-limit",
         o.engine.queue_limit,
         "sdn serve --queue-limit of every server (at most 64 keeps it "
         "below the server's HTTP threads, min(limit, 64) + 4, so overload "
         "gets 503 rather than waiting for a thread)")
      ->capture_default_str()
      ->check(in_range(1, 1 << 20));
  sub->add_option("--modes", o.modes, "Modes to measure: stage, batch, cnn")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option(
         "--loads",
         o.loads,
         "Offered rates as multiples of cnn mode's capacity, ascending")
      ->delimiter(',')
      ->capture_default_str()
      ->check(above(0));
  sub->add_option(
         "--warmup-s",
         o.warmup_s,
         "Seconds of load before each measured window (and before the "
         "capacity window)")
      ->capture_default_str()
      ->check(in_range(0, 3600));
  sub->add_option(
         "--duration-s", o.duration_s, "Seconds of each measured window")
      ->capture_default_str()
      ->check(in_interval(0, 3600, Bound::kOpen, Bound::kClosed));
  sub->add_option(
         "--capacity-s",
         o.capacity_s,
         "Seconds of the closed-loop window that measures cnn's capacity")
      ->capture_default_str()
      ->check(in_interval(0, 3600, Bound::kOpen, Bound::kClosed));
  sub->add_option(
         "--connections",
         o.connections,
         "Most requests in flight from the load generator (sender threads; "
         "each request opens its own connection)")
      ->capture_default_str()
      ->check(in_range(1, 4096));
  sub->add_option("--seed", o.seed, "Seeds arrivals, image order and faults")
      ->capture_default_str()
      ->check(at_least(0));
  cli->bound_option =
      sub->add_option(
             "--p99-bound-ms",
             cli->p99_bound_ms,
             "p99 bound of 'sustained' (default: 5 x cnn's p99 at the lowest "
             "load)")
          ->check(above(0));
  sub->add_option(
         "--fault-share",
         o.fault_share,
         "Share of clients that misbehave in a fault run (garbage, "
         "oversized, cut and trickled bodies) at --fault-load, compared "
         "with the fault-free run; 0: none")
      ->capture_default_str()
      ->check(in_range(0, 0.9));
  sub->add_option(
         "--fault-load",
         o.fault_load,
         "Load of the fault run (one of --loads); its mode is stage, or the "
         "first of --modes without stage")
      ->capture_default_str()
      ->check(above(0));
  sub->add_option("--json", cli->json, "Write everything as JSON to FILE");
  sub->add_option(
      "--html", cli->html, "Write a self-contained page with plots to FILE");
  cli->app = sub;
  sub->callback([cli] { run_bench_serve(*cli); });
}

void setup_serve(CLI::App& app) {
  auto cli = std::make_shared<ServeCli>();
  auto& o = cli->options;
  auto* sub = app.add_subcommand(
      "serve",
      "Serve a checkpoint over HTTP/1.1: POST /v1/classify (a PNG or JPEG "
      "image, or a float32 .npy [C,H,W] or [N,C,H,W] already normalised) "
      "answers each image's class, confidence, exit, cost and latency; GET "
      "/healthz; GET /metrics (Prometheus). Modes: stage (one queue per "
      "exit: rows from any requests batched per stage, E3), batch (dynamic "
      "batching of whole requests, each batch exiting as sdn exit does), cnn "
      "(the plain CNN, the baseline). Exits are decided as `sdn exit` "
      "decides them. Prints 'sdn serve: listening on http://HOST:PORT' once "
      "bound (--port 0: a free port); SIGINT or SIGTERM stop it after "
      "answering what was queued.\n"
      "Examples:\n"
      "  sdn serve --checkpoint runs/sdn/last --port 8080 --policy max-prob "
      "--param 0.9\n"
      "  sdn serve --checkpoint runs/sdn/last --port 8080 --budget 0.5 "
      "--val-trace runs/sdn/trace-val --mode batch\n"
      "  sdn serve --checkpoint runs/sdn/last --port 8080 --mode cnn\n"
      "  curl --data-binary @shoe.png -H 'Content-Type: image/png' "
      "http://127.0.0.1:8080/v1/classify");
  sub->add_option("--checkpoint", o.checkpoint, "Checkpoint directory")
      ->required();
  sub->add_option("--port", o.server.port, "TCP port (0: any free port)")
      ->required()
      ->check(in_range(0, 65535));
  sub->add_option(
         "--host",
         o.server.host,
         "Address to bind; a non-loopback one needs --api-key-file or "
         "--insecure")
      ->capture_default_str();
  sub->add_option("--mode", cli->mode, "stage, batch or cnn")
      ->capture_default_str();
  cli->policy.add_to(sub, "images");
  sub->add_option(
         "--max-batch",
         o.engine.max_batch,
         "Most rows in one batch (per stage in stage mode)")
      ->capture_default_str()
      ->check(in_range(1, 4096));
  sub->add_option(
         "--max-wait-ms",
         cli->max_wait_ms,
         "Most milliseconds a batch waits to fill before it runs")
      ->capture_default_str()
      ->check(in_range(0, 10000));
  sub->add_option(
         "--queue-limit",
         o.engine.queue_limit,
         "Most images admitted and not yet answered; beyond it 503 with "
         "Retry-After (also the most images in one request)")
      ->capture_default_str()
      ->check(in_range(1, 1 << 20));
  sub->add_option(
      "--api-key-file",
      cli->api_key_file,
      "File whose first line is the API key every request must send as "
      "'Authorization: Bearer KEY' (else 401)");
  sub->add_flag(
      "--insecure",
      o.server.insecure,
      "Serve a non-loopback --host without an API key");
  cli->app = sub;
  sub->callback([cli] { run_serve_command(*cli); });
}

} // namespace sdn::cli
