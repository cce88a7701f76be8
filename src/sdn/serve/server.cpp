#include "sdn/serve/server.h"

#include "sdn/checkpoint/checkpoint.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/format.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sdn::serve {

namespace {

constexpr const char* kClassify = "/v1/classify";
constexpr const char* kHealth = "/healthz";
constexpr const char* kMetrics = "/metrics";
constexpr const char* kJson = "application/json";

// The path as a metrics label: the routes, or "other" (bounded labels).
std::string path_label(const std::string& path) {
  for (const char* route : {kClassify, kHealth, kMetrics}) {
    if (path == route) {
      return path;
    }
  }
  return "other";
}

void json_error(httplib::Response& res, int status, const std::string& what) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", what}}.dump() + "\n", kJson);
}

// An answer given before the request's body was read: the connection then
// closes, or the unread body would be parsed as the next request.
void refuse_and_close(
    httplib::Response& res,
    int status,
    const std::string& what) {
  res.set_header("Connection", "close");
  json_error(res, status, what);
}

// What makes a request's framing ambiguous (RFC 9112 section 6.3: request
// smuggling): a Content-Length that is not one decimal number, two of
// them, or one beside Transfer-Encoding. "" when the framing is sound.
std::string framing_problem(const httplib::Request& req) {
  const size_t lengths = req.get_header_value_count("Content-Length");
  if (lengths == 0) {
    return "";
  }
  if (lengths > 1) {
    return "two Content-Length headers";
  }
  if (req.has_header("Transfer-Encoding")) {
    return "both Content-Length and Transfer-Encoding";
  }
  const std::string value = req.get_header_value("Content-Length");
  if (value.empty() || value.size() > 18 ||
      value.find_first_not_of("0123456789") != std::string::npos) {
    return "Content-Length '" + value.substr(0, 40) +
        "' is not a decimal number of bytes";
  }
  return "";
}

// "Bearer KEY": the scheme's case is free (RFC 9110 section 11.1).
bool bearer_token(const std::string& header, std::string* token) {
  const std::string scheme = "bearer ";
  if (header.size() < scheme.size()) {
    return false;
  }
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) {
      return false;
    }
  }
  *token = header.substr(scheme.size());
  return true;
}

// A connection by its client's address and port, as httplib's
// Request::remote_addr and remote_port give them.
using Peer = std::pair<std::string, int>;

// Ends the reading side of every TCP connection this process accepted on
// `port` except those of `busy` clients: a client still sending its
// request line or headers, or idle between keep-alive requests, sees its
// connection closed, and the HTTP thread serving it returns. The busy ones
// (a request being handled or answered) are left alone: httplib writes no
// answer on a connection whose reading side is shut (it takes it for
// dead). httplib keeps no list of its connections, so they are found among
// the process's file descriptors.
void shut_reads_of_connections(int port, const std::multiset<Peer>& busy) {
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
      continue;
    }
    sockaddr_storage local{};
    socklen_t size = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) != 0) {
      continue;
    }
    int local_port = -1;
    if (local.ss_family == AF_INET) {
      local_port = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
    } else if (local.ss_family == AF_INET6) {
      local_port = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
    }
    sockaddr_storage peer{};
    size = sizeof peer;
    // Accepted connections have a peer; the (closed) listening socket not.
    if (local_port != port ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &size) != 0) {
      continue;
    }
    char text[INET6_ADDRSTRLEN] = {};
    int peer_port = -1;
    if (peer.ss_family == AF_INET) {
      const auto* in = reinterpret_cast<sockaddr_in*>(&peer);
      ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
      peer_port = ntohs(in->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      const auto* in = reinterpret_cast<sockaddr_in6*>(&peer);
      ::inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
      peer_port = ntohs(in->sin6_port);
    }
    if (busy.count(Peer{text, peer_port}) == 0) {
      ::shutdown(fd, SHUT_RD);
    }
  }
}

// The reason phrase of the statuses httplib answers by itself.
std::string status_text(int status) {
  switch (status) {
    case 400:
      return "malformed HTTP request";
    case 404:
      return "no such route (POST /v1/classify, GET /healthz, GET /metrics)";
    case 405:
      return "method not allowed";
    case 413:
      return "request body too large";
    case 414:
      return "request URI too long";
    default:
      return "HTTP status " + std::to_string(status);
  }
}

bool all_digits(const std::string& text) {
  return !text.empty() &&
      std::all_of(text.begin(), text.end(), [](unsigned char c) {
        return c >= '0' && c <= '9';
      });
}

} // namespace

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") {
    return true;
  }
  // 127.a.b.c in dotted decimal.
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = host.find('.', start);
    parts.push_back(host.substr(start, dot - start));
    if (dot == std::string::npos) {
      break;
    }
    start = dot + 1;
  }
  if (parts.size() != 4 || parts[0] != "127") {
    return false;
  }
  return std::all_of(parts.begin(), parts.end(), [](const std::string& p) {
    return all_digits(p) && p.size() <= 3 && std::stoi(p) <= 255;
  });
}

bool same_key(const std::string& given, const std::string& expected) {
  // Every byte of the longer one is read whatever the contents, and the
  // lengths take part in the result.
  const size_t n = std::max(given.size(), expected.size());
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const auto a = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    const auto b =
        i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0;
    diff = static_cast<unsigned char>(diff | (a ^ b));
  }
  return diff == 0;
}

std::string read_api_key(const std::string& path) {
  // A key is a line; a file of more than 64 KiB is not a key file.
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  check(
      ec || size <= 65536,
      "--api-key-file ",
      path,
      ": ",
      size,
      " bytes; expected the API key on one line");
  std::string text;
  try {
    text = read_file(path); // regular files only: a folder is refused
  } catch (const Error& e) {
    fail("--api-key-file ", e.what());
  }
  const std::string line = text.substr(0, text.find('\n'));
  const auto first = line.find_first_not_of(" \t\r");
  const auto last = line.find_last_not_of(" \t\r");
  const std::string key =
      first == std::string::npos ? "" : line.substr(first, last - first + 1);
  check(
      !key.empty(),
      "--api-key-file ",
      path,
      ": expected the API key on its first line, found an empty line");
  return key;
}

void ServerOptions::validate() const {
  check(!host.empty(), "--host: expected an address, found an empty string");
  check(port >= 0 && port <= 65535, "--port must be in [0, 65535], got ", port);
  const bool loopback = is_loopback(host);
  check(
      loopback || !api_key.empty() || insecure,
      "--host ",
      host,
      " is not a loopback address: give --api-key-file (clients then send "
      "Authorization: Bearer KEY), or --insecure to serve it without a key");
  check(
      !insecure || (!loopback && api_key.empty()),
      "--insecure has no effect ",
      loopback ? "on a loopback --host (" + host + ")" :
                 std::string("with --api-key-file"));
  check(
      max_body_bytes > 0,
      "serve: max_body_bytes must be > 0, got ",
      max_body_bytes);
  check(
      http_threads > 0, "serve: http_threads must be > 0, got ", http_threads);
  check(
      read_timeout.count() > 0 && write_timeout.count() > 0 &&
          keep_alive_timeout.count() > 0,
      "serve: timeouts must be > 0 s");
}

std::string answer_json(const Answer& answer, const ModelInfo& info) {
  nlohmann::json j;
  j["class"] = answer.prediction;
  if (answer.prediction >= 0 &&
      answer.prediction < static_cast<int64_t>(info.class_names.size())) {
    j["class_name"] = info.class_names[static_cast<size_t>(answer.prediction)];
  }
  j["confidence"] = answer.confidence;
  j["exit"] = answer.exit + 1;
  j["cost"] = answer.cost;
  j["latency_ms"] = answer.seconds * 1000.0;
  return j.dump();
}

struct HttpServer::State {
  Engine& engine;
  Metrics& metrics;
  InputSpec spec;
  ModelInfo info;
  ServerOptions options;
  httplib::Server http;
  std::atomic<bool> stopping{false};
  std::atomic<bool> listening{false}; // listen() is between its checks
  int port = 0; // bound (bind())
  // Clients whose request is being handled: from the pre-routing handler
  // (its headers read) to the logger (its answer written).
  std::mutex busy_mutex;
  std::multiset<Peer> busy;

  State(Engine& e, Metrics& m, InputSpec s, ModelInfo i, ServerOptions o)
      : engine(e),
        metrics(m),
        spec(std::move(s)),
        info(std::move(i)),
        options(std::move(o)) {}

  // Reads the body through `reader`, at most --max-body-bytes of it
  // (httplib's own limit misses chunked bodies), then classifies it.
  void classify(
      const httplib::Request& req,
      httplib::Response& res,
      const httplib::ContentReader& reader) {
    const auto arrival = Clock::now();
    const auto cap = static_cast<size_t>(options.max_body_bytes);
    std::string bytes;
    bool too_large = false;
    bool cut_by_stop = false;
    reader([&](const char* data, size_t n) {
      if (n > cap - bytes.size()) {
        too_large = true;
        return false;
      }
      bytes.append(data, n);
      // A body still arriving when the server stops is not waited for.
      if (stopping) {
        cut_by_stop = true;
        return false;
      }
      return true;
    });
    if (cut_by_stop) {
      res.set_header("Retry-After", "1");
      refuse_and_close(res, 503, "the server is shutting down");
      return;
    }
    if (too_large) {
      refuse_and_close(
          res,
          413,
          str_cat(
              "request body too large: more than --max-body-bytes ",
              options.max_body_bytes));
      return;
    }
    DecodedBody body;
    try {
      body = decode_body(req.get_header_value("Content-Type"), bytes, spec);
    } catch (const RequestError& e) {
      json_error(res, e.status(), e.what());
      return;
    }
    if (stopping) {
      res.set_header("Retry-After", "1");
      res.set_header("Connection", "close");
      json_error(res, 503, "the server is shutting down");
      return;
    }
    const int64_t n = body.images.size(0);
    std::promise<RequestResult> promise;
    auto future = promise.get_future();
    const Admission admission = engine.submit(
        body.images,
        [&promise](RequestResult result) {
          promise.set_value(std::move(result));
        },
        arrival);
    if (admission != Admission::kAccepted) {
      res.set_header("Retry-After", "1");
      if (admission == Admission::kStopping) {
        res.set_header("Connection", "close");
        json_error(res, 503, "the server is shutting down");
      } else {
        json_error(
            res,
            503,
            str_cat(
                "queue full: ",
                engine.in_flight(),
                " images waiting, ",
                n,
                " more would exceed --queue-limit ",
                engine.options().queue_limit));
      }
      return;
    }
    const RequestResult result = future.get();
    metrics.record_classify_seconds(
        std::chrono::duration<double>(Clock::now() - arrival).count());
    if (!result.error.empty()) {
      json_error(res, 500, "the network failed: " + result.error);
      return;
    }
    for (size_t i = 0; i < result.answers.size(); ++i) {
      if (!std::isfinite(result.answers[i].confidence)) {
        json_error(
            res,
            500,
            str_cat(
                "the network's output is not finite for image ",
                i,
                " of the request"));
        return;
      }
    }
    std::string text;
    if (body.batched) {
      text = "[";
      for (size_t i = 0; i < result.answers.size(); ++i) {
        text += (i ? "," : "") + answer_json(result.answers[i], info);
      }
      text += "]";
    } else {
      text = answer_json(result.answers.at(0), info);
    }
    res.status = 200;
    res.set_content(text + "\n", kJson);
  }

  void routes() {
    http.Post(
        kClassify,
        [this](
            const httplib::Request& q,
            httplib::Response& r,
            const httplib::ContentReader& reader) { classify(q, r, reader); });
    http.Get(kHealth, [this](const httplib::Request&, httplib::Response& r) {
      nlohmann::json j = {
          {"status", stopping ? "stopping" : "ok"},
          {"mode", info.mode},
          {"exits", info.num_exits},
          {"classes", info.class_names.size()},
          {"in_flight", engine.in_flight()}};
      if (!info.policy.empty()) {
        j["policy"] = info.policy;
      }
      r.status = stopping ? 503 : 200;
      r.set_content(j.dump() + "\n", kJson);
    });
    http.Get(kMetrics, [this](const httplib::Request&, httplib::Response& r) {
      r.set_content(
          metrics.render(engine.queue_rows(), engine.in_flight()),
          "text/plain; version=0.0.4; charset=utf-8");
    });
    // Before any body is read: a refusal here closes the connection.
    http.set_pre_routing_handler([this](
                                     const httplib::Request& q,
                                     httplib::Response& r) {
      {
        const std::lock_guard<std::mutex> lock(busy_mutex);
        busy.emplace(q.remote_addr, q.remote_port);
      }
      const std::string framing = framing_problem(q);
      if (!framing.empty()) {
        refuse_and_close(r, 400, "ambiguous request framing: " + framing);
        return httplib::Server::HandlerResponse::Handled;
      }
      if (q.has_header("Content-Length") &&
          std::stoull(q.get_header_value("Content-Length")) >
              static_cast<uint64_t>(options.max_body_bytes)) {
        refuse_and_close(
            r,
            413,
            str_cat(
                "request body too large: Content-Length ",
                q.get_header_value("Content-Length"),
                ", more than --max-body-bytes ",
                options.max_body_bytes));
        return httplib::Server::HandlerResponse::Handled;
      }
      if (options.api_key.empty()) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      std::string token;
      if (bearer_token(q.get_header_value("Authorization"), &token) &&
          same_key(token, options.api_key)) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      r.set_header("WWW-Authenticate", "Bearer");
      refuse_and_close(
          r, 401, "missing or wrong API key: send Authorization: Bearer KEY");
      return httplib::Server::HandlerResponse::Handled;
    });
    // httplib's own refusals (no route, a body over the limit, a bad
    // request line) come without a body: JSON like the others.
    // (Typed: the lambda would also convert to the plain Handler.)
    http.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request&, httplib::Response& r) {
          if (!r.body.empty()) {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          json_error(r, r.status, status_text(r.status));
          return httplib::Server::HandlerResponse::Handled;
        }));
    http.set_exception_handler([](const httplib::Request&,
                                  httplib::Response& r,
                                  std::exception_ptr e) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        what = x.what();
      } catch (...) {
      }
      json_error(r, 500, what);
    });
    http.set_logger(
        [this](const httplib::Request& q, const httplib::Response& r) {
          {
            const std::lock_guard<std::mutex> lock(busy_mutex);
            const auto it = busy.find(Peer{q.remote_addr, q.remote_port});
            if (it != busy.end()) {
              busy.erase(it);
            }
          }
          metrics.record_response(path_label(q.path), r.status);
        });
  }
};

HttpServer::HttpServer(
    Engine& engine,
    Metrics& metrics,
    InputSpec spec,
    ModelInfo info,
    ServerOptions options) {
  options.validate();
  state_ = std::make_unique<State>(
      engine, metrics, std::move(spec), std::move(info), std::move(options));
  auto& http = state_->http;
  const auto& o = state_->options;
  const auto threads = static_cast<size_t>(o.http_threads);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default also sets SO_REUSEPORT, with which a second server
  // binds the same port and the kernel splits the clients between them.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http.set_payload_max_length(static_cast<size_t>(o.max_body_bytes));
  http.set_read_timeout(o.read_timeout);
  http.set_write_timeout(o.write_timeout);
  http.set_keep_alive_timeout(o.keep_alive_timeout.count());
  state_->routes();
}

HttpServer::~HttpServer() {
  shutdown();
}

int HttpServer::bind() {
  const auto& o = state_->options;
  int port = o.port;
  if (port == 0) {
    port = state_->http.bind_to_any_port(o.host);
    check(
        port > 0,
        "--host ",
        o.host,
        " --port 0: cannot bind a free port on that address");
  } else {
    check(
        state_->http.bind_to_port(o.host, port),
        "--host ",
        o.host,
        " --port ",
        port,
        ": cannot bind (address in use, not an address of this machine, or "
        "a privileged port)");
  }
  state_->port = port;
  return port;
}

void HttpServer::listen() {
  state_->listening = true;
  if (!state_->stopping) {
    state_->http.listen_after_bind();
  }
  state_->listening = false;
}

void HttpServer::shutdown() {
  // Once: httplib's stop() asserts that the socket is still open.
  if (state_->stopping.exchange(true)) {
    return;
  }
  // httplib's stop() does nothing before its loop runs: when listen() has
  // passed its check but not started the loop yet, wait for the loop.
  while (state_->listening && !state_->http.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  state_->http.stop();
  // Clients still sending would hold their HTTP threads, and the exit,
  // for as long as they trickle.
  if (state_->port > 0) {
    const std::lock_guard<std::mutex> lock(state_->busy_mutex);
    shut_reads_of_connections(state_->port, state_->busy);
  }
}

namespace {

// The write end of the pipe the signal handler writes to.
std::atomic<int> signal_pipe{-1};

extern "C" void on_stop_signal(int) {
  const int fd = signal_pipe.load();
  if (fd >= 0) {
    const char byte = 'S';
    // Async-signal-safe; a full pipe already holds a stop request.
    [[maybe_unused]] const auto n = ::write(fd, &byte, 1);
  }
}

// SIGINT and SIGTERM call `stop` (on a thread of its own) while alive.
class StopOnSignal {
 public:
  explicit StopOnSignal(std::function<void()> stop) {
    check(
        ::pipe(fds_) == 0,
        "serve: cannot create a pipe: ",
        std::strerror(errno));
    ::fcntl(fds_[1], F_SETFL, O_NONBLOCK);
    signal_pipe = fds_[1];
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
    watcher_ = std::thread([this, stop = std::move(stop)] {
      char byte = 0;
      bool stopped = false;
      while (true) {
        const auto n = ::read(fds_[0], &byte, 1);
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n <= 0 || byte == 'Q') {
          return;
        }
        if (!stopped) { // later signals while draining change nothing
          stopped = true;
          stop();
        }
      }
    });
  }
  ~StopOnSignal() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    signal_pipe = -1;
    const char byte = 'Q';
    [[maybe_unused]] const auto n = ::write(fds_[1], &byte, 1);
    watcher_.join();
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  int fds_[2] = {-1, -1};
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  std::thread watcher_;
};

} // namespace

void run_serve(const ServeOptions& options, std::ostream& out) {
  options.engine.validate();
  options.server.validate();
  checkpoint::CheckpointMeta meta;
  auto network = checkpoint::load_network(options.checkpoint, meta);
  std::unique_ptr<analysis::ExitPolicy> policy;
  ModelInfo info;
  info.mode = to_string(options.mode);
  info.num_exits = network->num_exits();
  if (options.mode != ServeMode::kCnn) {
    check(
        network->num_ics() > 0,
        "--checkpoint ",
        options.checkpoint,
        ": --mode ",
        info.mode,
        " needs an SDN (a checkpoint with ICs), got a CNN; serve it with "
        "--mode cnn");
    auto request = options.policy;
    request.num_exits = network->num_exits();
    request.num_classes = meta.num_classes;
    policy = analysis::resolve_exit_policy(request);
    info.policy = policy->describe();
  }
  const auto data_info = data::dataset_info(meta.config.data);
  info.class_names = data_info.class_names;
  const InputSpec spec = input_spec(data_info, options.engine.queue_limit);
  const auto costs = inference::relative_exit_costs(network, false);
  const auto model = make_staged_network(
      options.mode, *network, policy.get(), options.policy.rule, costs);
  Metrics metrics(
      model->num_stages(), model->num_exits(), options.engine.max_batch);
  Engine engine(*model, options.engine, &metrics);
  HttpServer server(engine, metrics, spec, info, options.server);
  const int port = server.bind();
  std::exception_ptr executor_error;
  std::thread executor([&] {
    try {
      engine.run();
    } catch (...) {
      executor_error = std::current_exception();
      server.shutdown();
    }
  });
  {
    // Stopping the engine makes every queued row's stage ready: what was
    // admitted is answered at once, not after --max-wait-ms.
    const StopOnSignal on_signal([&server, &engine] {
      server.shutdown();
      engine.stop();
    });
    out << "sdn serve: listening on http://"
        << (options.server.host.find(':') == std::string::npos ?
                options.server.host :
                "[" + options.server.host + "]")
        << ":" << port << std::endl;
    server.listen();
  }
  engine.stop();
  executor.join();
  if (executor_error) {
    std::rethrow_exception(executor_error);
  }
}

} // namespace sdn::serve
