#pragma once

// `sdn serve`: the HTTP/1.1 front of the serving engine, on cpp-httplib
// (Debian's libcpp-httplib-dev), and the command's whole run: load the
// checkpoint, build the engine, bind, serve until SIGINT or SIGTERM, drain.
// docs/serving.md describes the API, the security rules and what happens
// under overload.

#include "sdn/analysis/early_exit.h"
#include "sdn/serve/engine.h"
#include "sdn/serve/metrics.h"
#include "sdn/serve/request_body.h"
#include "sdn/serve/staged_network.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace sdn::serve {

/// Where and how the HTTP server listens.
struct ServerOptions {
  std::string host = "127.0.0.1"; ///< --host: the address to bind.
  int port = 0; ///< --port: 0 = a free port the system picks.
  /// The API key (read from --api-key-file); empty: no key asked.
  std::string api_key;
  /// --insecure: bind a non-loopback host without an API key.
  bool insecure = false;
  /// Largest request body accepted (bytes); larger ones get 413 without
  /// being kept.
  int64_t max_body_bytes = int64_t{64} << 20;
  /// HTTP worker threads: each holds one connection while it reads a
  /// request, waits for its answer and writes it.
  int64_t http_threads = 8;
  /// How long one read or write on a connection may wait (a client that
  /// stops sending mid-request is dropped after it), and how long an idle
  /// keep-alive connection is kept.
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds write_timeout{5};
  std::chrono::seconds keep_alive_timeout{2};

  /// Throws sdn::Error naming the option: --port outside [0, 65535], an
  /// empty --host, a non-loopback --host without an API key unless
  /// insecure, --insecure where it changes nothing (a loopback host, or an
  /// API key given), and non-positive sizes, threads or timeouts.
  void validate() const;
};

/// True for the loopback addresses: "localhost", 127.0.0.0/8 in dotted
/// decimal, and "::1".
bool is_loopback(const std::string& host);

/// Compares two keys in time that depends on their lengths only, not on
/// where they first differ.
bool same_key(const std::string& given, const std::string& expected);

/// The API key in file `path`: its first line without surrounding blanks.
/// Throws sdn::Error naming --api-key-file when the file cannot be read or
/// the key is empty.
std::string read_api_key(const std::string& path);

/// What the HTTP layer tells clients about the network.
struct ModelInfo {
  std::vector<std::string> class_names; ///< K names (the data set's).
  int64_t num_exits = 1; ///< E.
  std::string mode; ///< "stage", "batch" or "cnn".
  std::string policy; ///< The policy's describe(), or "" (cnn mode).
};

/// The JSON of one answer: class, class_name (when `info` names the
/// class), confidence, exit (1-based: E is the final exit), cost, latency_ms.
std::string answer_json(const Answer& answer, const ModelInfo& info);

/// The HTTP server over a running engine. Routes: POST /v1/classify (a
/// body decode_body accepts: one JSON object for one image, a JSON array
/// for an .npy [N, C, H, W]); GET /healthz; GET /metrics. With an API key,
/// every request needs "Authorization: Bearer KEY" (else 401). Errors are
/// JSON objects {"error": "..."}: 400, 413, 415 for bad bodies, 401, 404,
/// 503 with Retry-After when the engine's queue is full or the server is
/// stopping, 500 when the network failed.
class HttpServer {
 public:
  /// `engine` (driven by its own thread, run()) and `metrics` must outlive
  /// the server. Validates `options`.
  HttpServer(
      Engine& engine,
      Metrics& metrics,
      InputSpec spec,
      ModelInfo info,
      ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds options.host:options.port and returns the port bound (the one
  /// the system picked for port 0). Throws sdn::Error naming --host and
  /// --port when it cannot bind.
  int bind();
  /// Serves on the bound socket until shutdown(); returns once every
  /// request being handled has been answered.
  void listen();
  /// Refuses new classify requests (503), stops accepting connections and
  /// makes listen() return once the requests in progress are answered
  /// (the engine must keep running until then). Thread-safe, idempotent.
  void shutdown();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Everything `sdn serve` was asked for.
struct ServeOptions {
  std::string checkpoint; ///< --checkpoint: an SDN or CNN checkpoint.
  ServeMode mode = ServeMode::kStage; ///< --mode.
  /// The exit policy, as `sdn exit` takes it (--policy, --param, --budget,
  /// --val-trace, --train-trace, --no-exit-rule); unused in cnn mode.
  analysis::ExitPolicyRequest policy;
  EngineOptions engine; ///< --max-batch, --max-wait-ms, --queue-limit.
  ServerOptions server; ///< --host, --port, --api-key-file, --insecure.
};

/// Loads the checkpoint, builds the model for the mode (stage and batch:
/// the policy resolved as `sdn exit` resolves it), starts the engine's
/// executor, binds, writes "sdn serve: listening on http://HOST:PORT"
/// (the port bound) and a newline to `out` and flushes it, then serves
/// until SIGINT or SIGTERM: it stops accepting, answers what was admitted
/// and returns. Throws sdn::Error for bad options, checkpoints, traces or
/// a port it cannot bind.
void run_serve(const ServeOptions& options, std::ostream& out);

} // namespace sdn::serve
