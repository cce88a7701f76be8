// `sdn serve`: an HTTP/1.1 classification server over an SDN, exiting
// early per image (docs/serving.md).
#include "commands.h"
#include "option_checks.h"
#include "policy_options.h"

#include "sdn/analysis/early_exit.h"
#include "sdn/analysis/exit_policy.h"
#include "sdn/serve/server.h"
#include "sdn/util/error.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

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
    reject_given(
        *cli.app,
        {"--policy",
         "--param",
         "--threshold",
         "--budget",
         "--val-trace",
         "--train-trace",
         "--no-exit-rule"},
        "with --mode cnn (the plain CNN runs no exit policy)");
  } else {
    o.policy = cli.policy.resolve();
  }
  o.engine.max_wait = std::chrono::microseconds(
      static_cast<int64_t>(cli.max_wait_ms * 1000.0 + 0.5));
  if (!cli.api_key_file.empty()) {
    o.server.api_key = serve::read_api_key(cli.api_key_file);
  }
  // One HTTP thread per image the queue admits, up to 64, and 4 more for
  // health checks, metrics and refusals (docs/serving.md#overload).
  o.server.http_threads = std::min<int64_t>(o.engine.queue_limit, 64) + 4;
  o.server.validate();
  apply_global_options();
  serve::run_serve(o, std::cout);
}

} // namespace

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
