// `sdn bench serve`'s run: the server processes, the load generator, the
// fault clients. Output (JSON, table, HTML): serve_bench_output.cpp.
#include "sdn/app/serve_bench.h"

#include "sdn/analysis/npy.h"
#include "sdn/checkpoint/checkpoint.h"
#include "sdn/data/loader.h"
#include "sdn/serve/server.h"
#include "sdn/util/error.h"
#include "sdn/util/format.h"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace sdn::app {

using serve::Clock;

void ServeBenchOptions::validate() const {
  check(
      !modes.empty(),
      "--modes: expected one or more of stage, batch, cnn, found none");
  for (size_t i = 0; i < modes.size(); ++i) {
    const auto& m = modes[i];
    check(
        m == "stage" || m == "batch" || m == "cnn",
        "--modes: expected stage, batch or cnn, found '",
        m,
        "'");
    check(
        std::find(modes.begin(), modes.begin() + static_cast<long>(i), m) ==
            modes.begin() + static_cast<long>(i),
        "--modes: ",
        m,
        " is given twice");
  }
  check(!loads.empty(), "--loads: expected one or more loads, found none");
  for (size_t i = 0; i < loads.size(); ++i) {
    check(
        std::isfinite(loads[i]) && loads[i] > 0,
        "--loads: expected multiples of cnn's capacity > 0, found ",
        loads[i]);
    // Not check(i == 0 || ...): its message arguments are evaluated even
    // when the condition holds, and loads[i - 1] is out of range at i == 0.
    if (i > 0) {
      check(
          loads[i] > loads[i - 1],
          "--loads: expected ascending loads, found ",
          loads[i],
          " after ",
          loads[i - 1]);
    }
  }
  check(
      std::isfinite(warmup_s) && warmup_s >= 0,
      "--warmup-s: expected seconds >= 0, found ",
      warmup_s);
  check(
      std::isfinite(duration_s) && duration_s > 0,
      "--duration-s: expected seconds > 0, found ",
      duration_s);
  check(
      std::isfinite(capacity_s) && capacity_s > 0,
      "--capacity-s: expected seconds > 0, found ",
      capacity_s);
  check(
      connections >= 1 && connections <= 4096,
      "--connections: expected 1 to 4096 requests in flight, found ",
      connections);
  check(
      std::isfinite(fault_share) && fault_share >= 0 && fault_share <= 0.9,
      "--fault-share: expected a share in [0, 0.9], found ",
      fault_share);
  if (fault_share > 0) {
    check(
        std::any_of(
            loads.begin(),
            loads.end(),
            [&](double l) { return std::abs(l - fault_load) < 1e-9; }),
        "--fault-load: expected one of --loads (the fault-free run it is "
        "compared with), found ",
        fault_load);
  }
  const bool cnn = std::find(modes.begin(), modes.end(), "cnn") != modes.end();
  if (p99_bound_s) {
    check(
        std::isfinite(*p99_bound_s) && *p99_bound_s > 0,
        "--p99-bound-ms: expected milliseconds > 0, found ",
        *p99_bound_s * 1000);
  } else {
    check(
        cnn,
        "--p99-bound-ms: needed when --modes leaves out cnn (the default "
        "bound is 5 x cnn's p99 at the lowest load)");
  }
  check(
      std::isfinite(request_timeout_s) && request_timeout_s > 0,
      "serve bench: the request timeout must be > 0 s");
  engine.validate();
  if (!cnn || modes.size() > 1) {
    policy.validate();
  }
}

namespace {

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

Clock::time_point after(Clock::time_point t, double s) {
  return t +
      std::chrono::duration_cast<Clock::duration>(
             std::chrono::duration<double>(s));
}

// SplitMix64 of seed and a stream number: independent seeds per stream.
uint64_t mix(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::string number(double v) {
  return str_printf("%.17g", v);
}

// /proc/PID/status's `field` (VmRSS, VmHWM) in kB; 0 when unreadable.
int64_t proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size() + 1, field + ":") == 0) {
      return std::strtoll(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) {
    return "exit status " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
        strsignal(WTERMSIG(status)) + ")";
  }
  return "ended with wait status " + std::to_string(status);
}

// `sdn serve` as a child process on a loopback port it picks.
class ServerProcess {
 public:
  ServerProcess(const std::vector<std::string>& argv, std::string mode)
      : mode_(std::move(mode)) {
    int fds[2];
    check(
        ::pipe2(fds, O_CLOEXEC) == 0,
        "bench serve: cannot create a pipe: ",
        std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    const int rc = ::posix_spawn(
        &pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_ = fds[0];
    if (rc != 0) {
      ::close(out_);
      fail("bench serve: cannot start ", argv[0], ": ", std::strerror(rc));
    }
    read_port();
  }
  ~ServerProcess() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const {
    return port_;
  }
  pid_t pid() const {
    return pid_;
  }
  const std::string& mode() const {
    return mode_;
  }
  // False once the process has ended (reaped here).
  bool alive() {
    if (reaped_) {
      return false;
    }
    const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return false;
    }
    return true;
  }
  // Throws unless the process is still running.
  void check_alive() {
    check(
        alive(),
        "bench serve: sdn serve --mode ",
        mode_,
        " ended during the benchmark: ",
        describe_status(status_));
  }
  // SIGTERM, then waits up to 60 s for it to drain and exit.
  ServerEnd stop() {
    ServerEnd end;
    end.mode = mode_;
    if (alive()) {
      end.peak_rss_kb = proc_status_kb(pid_, "VmHWM");
      ::kill(pid_, SIGTERM);
      const auto deadline = after(Clock::now(), 60);
      while (!reaped_ && Clock::now() < deadline) {
        if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
          reaped_ = true;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      }
      if (!reaped_) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        reaped_ = true;
        end.end = "did not stop within 60 s of SIGTERM (killed)";
        return end;
      }
    }
    end.end = describe_status(status_);
    end.clean = WIFEXITED(status_) && WEXITSTATUS(status_) == 0;
    return end;
  }

 private:
  // Reads "sdn serve: listening on http://HOST:PORT" from its stdout.
  void read_port() {
    const std::string prefix = "sdn serve: listening on http://127.0.0.1:";
    std::string line;
    const auto deadline = after(Clock::now(), 600);
    while (Clock::now() < deadline) {
      check(
          alive(),
          "bench serve: sdn serve --mode ",
          mode_,
          " did not start (",
          describe_status(status_),
          "; its error is above)");
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        continue;
      }
      char c = 0;
      const auto n = ::read(out_, &c, 1);
      if (n <= 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      if (c != '\n') {
        line += c;
        continue;
      }
      check(
          line.compare(0, prefix.size(), prefix) == 0,
          "bench serve: sdn serve --mode ",
          mode_,
          " printed '",
          line,
          "', expected '",
          prefix,
          "PORT'");
      port_ = std::atoi(line.c_str() + prefix.size());
      check(port_ > 0, "bench serve: no port in '", line, "'");
      return;
    }
    fail(
        "bench serve: sdn serve --mode ",
        mode_,
        " did not print its port within 600 s");
  }

  std::string mode_;
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
  int status_ = 0;
  bool reaped_ = false;
};

std::vector<std::string> server_argv(
    const ServeBenchOptions& o,
    const std::string& mode) {
  std::vector<std::string> a = {o.sdn_binary};
  if (o.threads > 0) {
    a.insert(a.end(), {"--threads", std::to_string(o.threads)});
  }
  a.insert(
      a.end(),
      {"serve",
       "--checkpoint",
       o.checkpoint,
       "--port",
       "0",
       "--mode",
       mode,
       "--max-batch",
       std::to_string(o.engine.max_batch),
       "--max-wait-ms",
       number(static_cast<double>(o.engine.max_wait.count()) / 1000.0),
       "--queue-limit",
       std::to_string(o.engine.queue_limit)});
  if (mode != "cnn") {
    const auto& p = o.policy;
    a.insert(a.end(), {"--policy", p.policy});
    if (p.param) {
      a.insert(a.end(), {"--param", number(*p.param)});
    }
    if (p.threshold) {
      a.insert(a.end(), {"--threshold", number(*p.threshold)});
    }
    if (p.budget) {
      a.insert(a.end(), {"--budget", number(*p.budget)});
    }
    if (!p.val_trace.empty()) {
      a.insert(a.end(), {"--val-trace", p.val_trace});
    }
    if (!p.train_trace.empty()) {
      a.insert(a.end(), {"--train-trace", p.train_trace});
    }
    a.insert(a.end(), {"--no-exit-rule", analysis::to_string(p.rule)});
  }
  return a;
}

// GET `path`; throws unless it answers 200.
std::string http_get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(10, 0);
  client.set_read_timeout(10, 0);
  const auto res = client.Get(path.c_str());
  check(
      res && res->status == 200,
      "bench serve: GET ",
      path,
      " failed: ",
      res ? "status " + std::to_string(res->status) :
            httplib::to_string(res.error()));
  return res->body;
}

// One request's fate.
struct Sent {
  double scheduled = 0; ///< Seconds from the run's start.
  double lag = 0; ///< Seconds the client sent it after its schedule.
  double latency = 0; ///< Seconds from the schedule to the answer read.
  int status = 0; ///< HTTP status; 0: no answer (`error` says why).
  std::string error;
  int64_t prediction = -1;
  int64_t exit = -1; ///< 0-based.
  double cost = 0;
};

void set_timeouts(httplib::Client& client, double timeout_s) {
  const auto sec = static_cast<time_t>(timeout_s);
  const auto usec = static_cast<time_t>((timeout_s - sec) * 1e6);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
}

// POSTs one .npy body; a new connection each time, as independent clients.
Sent classify(int port, const std::string& body, double timeout_s) {
  Sent s;
  httplib::Client client("127.0.0.1", port);
  set_timeouts(client, timeout_s);
  const auto res = client.Post("/v1/classify", body, "application/x-npy");
  if (!res) {
    s.error = "connection: " + httplib::to_string(res.error());
    return s;
  }
  s.status = res->status;
  if (s.status == 200) {
    try {
      const auto j = nlohmann::json::parse(res->body);
      s.prediction = j.at("class").get<int64_t>();
      s.exit = j.at("exit").get<int64_t>() - 1;
      s.cost = j.at("cost").get<double>();
    } catch (const std::exception& e) {
      s.status = 0;
      s.error = "a 200 answer that is not an answer";
    }
  }
  return s;
}

// Runs `send(i)` at start + schedule[i] for every i, on up to `threads`
// sender threads; a request whose thread was busy at its time goes late,
// and its latency still counts from its schedule.
std::vector<Sent> run_schedule(
    const std::vector<double>& schedule,
    int64_t threads,
    Clock::time_point start,
    const std::function<Sent(size_t)>& send) {
  std::vector<Sent> out(schedule.size());
  std::atomic<size_t> next{0};
  const auto worker = [&] {
    while (true) {
      const size_t i = next.fetch_add(1);
      if (i >= schedule.size()) {
        return;
      }
      const auto at = after(start, schedule[i]);
      std::this_thread::sleep_until(at);
      const auto began = Clock::now();
      Sent s;
      try {
        s = send(i);
      } catch (const std::exception& e) {
        s = Sent{};
        s.error = std::string("client: ") + e.what();
      }
      const auto end = Clock::now();
      s.scheduled = schedule[i];
      s.lag = seconds(began - at);
      s.latency = seconds(end - at);
      out[i] = std::move(s);
    }
  };
  const auto n = std::min<int64_t>(
      threads, static_cast<int64_t>(std::max<size_t>(schedule.size(), 1)));
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < n; ++t) {
    pool.emplace_back(worker);
  }
  for (auto& t : pool) {
    t.join();
  }
  return out;
}

// The test split as request bodies: one float32 .npy [C, H, W] per image,
// normalised as the data set is.
struct Bodies {
  std::vector<std::string> npy;
  std::vector<int64_t> labels;
  std::vector<size_t> order; ///< Request i sends image order[i % size].
};

Bodies make_bodies(
    const ServeBenchOptions& o,
    const checkpoint::CheckpointMeta& meta) {
  auto config = meta.config;
  config.data = config.data.moved_to(o.data_dir);
  const auto splits = data::load_splits(config.data);
  const auto& test = splits.test;
  check(
      test.size() > 0,
      "--checkpoint ",
      o.checkpoint,
      ": its data set's test split is empty");
  const auto images =
      data::normalize(test.images, splits.info).contiguous().to(torch::kFloat);
  const std::vector<int64_t> shape = {
      images.size(1), images.size(2), images.size(3)};
  const std::string header = analysis::npy_header_bytes("<f4", shape);
  const auto bytes =
      static_cast<size_t>(shape[0] * shape[1] * shape[2]) * sizeof(float);
  Bodies b;
  const float* data = images.data_ptr<float>();
  const auto labels = test.labels.to(torch::kLong).contiguous();
  for (int64_t i = 0; i < test.size(); ++i) {
    std::string body = header;
    body.append(
        reinterpret_cast<const char*>(data) + static_cast<size_t>(i) * bytes,
        bytes);
    b.npy.push_back(std::move(body));
    b.labels.push_back(labels[i].item<int64_t>());
  }
  // A seeded Fisher-Yates shuffle (own draws: the same on every library).
  b.order.resize(b.npy.size());
  for (size_t i = 0; i < b.order.size(); ++i) {
    b.order[i] = i;
  }
  std::mt19937_64 random(mix(o.seed, 0));
  for (size_t i = b.order.size(); i > 1; --i) {
    std::swap(b.order[i - 1], b.order[random() % i]);
  }
  return b;
}

// A closed loop of `connections` clients, each sending its next request
// once the last is answered, for warmup_s + window_s: 200 answers/s
// completed in the window.
double closed_loop(
    int port,
    const Bodies& bodies,
    int64_t connections,
    double warmup_s,
    double window_s,
    double timeout_s) {
  const auto start = Clock::now();
  const auto from = after(start, warmup_s);
  const auto until = after(from, window_s);
  std::atomic<size_t> next{0};
  std::atomic<int64_t> answered{0};
  std::vector<std::thread> pool;
  for (int64_t c = 0; c < connections; ++c) {
    pool.emplace_back([&] {
      while (Clock::now() < until) {
        const size_t i = next.fetch_add(1);
        const auto& body = bodies.npy[bodies.order[i % bodies.order.size()]];
        const Sent s = classify(port, body, timeout_s);
        const auto now = Clock::now();
        if (s.status == 200 && now >= from && now < until) {
          ++answered;
        }
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  return static_cast<double>(answered.load()) / window_s;
}

// The row of one window from what its requests got.
serve::LoadRow make_row(
    const std::string& mode,
    double load,
    double rate,
    const ServeBenchOptions& o,
    const std::vector<Sent>& sent,
    const Bodies& bodies,
    int64_t num_exits) {
  serve::LoadRow row;
  row.mode = mode;
  row.load = load;
  row.offered_rate = rate;
  row.window_s = o.duration_s;
  row.exits.assign(static_cast<size_t>(num_exits), 0);
  std::vector<double> latencies;
  int64_t correct = 0;
  double cost = 0;
  for (size_t i = 0; i < sent.size(); ++i) {
    const Sent& s = sent[i];
    if (s.scheduled < o.warmup_s) {
      continue;
    }
    ++row.sent;
    row.max_send_lag = std::max(row.max_send_lag, s.lag);
    if (s.status == 200) {
      ++row.ok;
      latencies.push_back(s.latency);
      const size_t image = bodies.order[i % bodies.order.size()];
      correct += s.prediction == bodies.labels[image] ? 1 : 0;
      cost += s.cost;
      if (s.exit >= 0 && s.exit < num_exits) {
        ++row.exits[static_cast<size_t>(s.exit)];
      }
    } else if (s.status == 503) {
      ++row.refused;
    } else {
      ++row.failed;
      ++row.errors
            [s.status > 0 ? "status " + std::to_string(s.status) : s.error];
    }
  }
  row.throughput = static_cast<double>(row.ok) / o.duration_s;
  row.latency = serve::summarize_latency(latencies);
  const auto ok = static_cast<double>(std::max<int64_t>(row.ok, 1));
  row.accuracy = row.ok > 0 ? static_cast<double>(correct) / ok : 0;
  row.mean_cost = row.ok > 0 ? cost / ok : 0;
  return row;
}

// /metrics at the measured window's start, start + warmup_s: scraped on a
// thread of its own while the load runs (before the load without warm-up).
class WindowStart {
 public:
  WindowStart(int port, Clock::time_point start, double warmup_s) {
    if (warmup_s == 0) {
      samples_ = serve::parse_metrics(http_get(port, "/metrics"));
      return;
    }
    thread_ = std::thread([this, port, start, warmup_s] {
      try {
        std::this_thread::sleep_until(after(start, warmup_s));
        samples_ = serve::parse_metrics(http_get(port, "/metrics"));
      } catch (...) {
        error_ = std::current_exception();
      }
    });
  }
  ~WindowStart() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  WindowStart(const WindowStart&) = delete;
  WindowStart& operator=(const WindowStart&) = delete;

  // Waits for the scrape; throws what it threw.
  const serve::MetricSamples& samples() {
    if (thread_.joinable()) {
      thread_.join();
    }
    if (error_) {
      std::rethrow_exception(error_);
    }
    return samples_;
  }

 private:
  serve::MetricSamples samples_;
  std::exception_ptr error_;
  std::thread thread_;
};

// ---- Misbehaving clients (raw sockets: httplib's client sends whole,
// well-formed requests only).

const char* const kFaultKinds[] = {
    "garbage",
    "oversized",
    "disconnect",
    "trickle"};

int connect_loopback(int port, double timeout_s) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(fd >= 0, "bench serve: socket: ", std::strerror(errno));
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_s);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    fail("connect: ", std::strerror(e));
  }
  return fd;
}

bool send_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const auto n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The status of the answer on `fd`: "status NNN", or why there is none.
std::string read_status(int fd) {
  std::string head;
  char buffer[512];
  while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return errno == EAGAIN || errno == EWOULDBLOCK ?
          "no answer within the timeout" :
          std::string("closed: ") + std::strerror(errno);
    }
    if (n == 0) {
      return head.empty() ? "closed by the server, no answer" :
                            "closed mid-answer";
    }
    head.append(buffer, static_cast<size_t>(n));
  }
  const auto space = head.find(' ');
  if (head.compare(0, 5, "HTTP/") != 0 || space == std::string::npos) {
    return "an answer that is not HTTP";
  }
  return "status " + head.substr(space + 1, 3);
}

std::string request_head(int64_t content_length) {
  return str_cat(
      "POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/x-npy\r\nContent-Length: ",
      content_length,
      "\r\nConnection: close\r\n\r\n");
}

// One misbehaving client of kind `kind`; returns what it got.
std::string misbehave(
    int port,
    size_t kind,
    const std::string& valid_body,
    uint64_t seed) {
  const int fd = connect_loopback(port, 10);
  std::string outcome;
  const std::string kind_name = kFaultKinds[kind];
  if (kind_name == "garbage") {
    std::mt19937_64 random(seed);
    std::string body(valid_body.size(), '\0');
    for (char& c : body) {
      c = static_cast<char>(random() & 0xff);
    }
    const std::string message =
        request_head(static_cast<int64_t>(body.size())) + body;
    send_all(fd, message.data(), message.size());
    outcome = read_status(fd);
  } else if (kind_name == "oversized") {
    // Over sdn serve's 64 MiB body limit; only a little of it is sent.
    const int64_t limit = serve::ServerOptions{}.max_body_bytes;
    const std::string head = request_head(limit + 1);
    const std::string some(64 << 10, '\0');
    send_all(fd, head.data(), head.size());
    send_all(fd, some.data(), some.size());
    outcome = read_status(fd);
  } else if (kind_name == "disconnect") {
    const std::string message =
        request_head(static_cast<int64_t>(valid_body.size())) +
        valid_body.substr(0, valid_body.size() / 2);
    send_all(fd, message.data(), message.size());
    outcome = "closed by the client mid-body";
  } else { // trickle: a valid request in 10 pieces, 200 ms apart
    const std::string message =
        request_head(static_cast<int64_t>(valid_body.size())) + valid_body;
    const size_t piece = (message.size() + 9) / 10;
    bool ok = true;
    for (size_t at = 0; ok && at < message.size(); at += piece) {
      if (at > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      ok = send_all(
          fd, message.data() + at, std::min(piece, message.size() - at));
    }
    outcome = ok ? read_status(fd) : "closed by the server mid-body";
  }
  ::close(fd);
  return outcome;
}

} // namespace

ServeBenchResult run_serve_bench(
    const ServeBenchOptions& options,
    std::ostream& progress) {
  options.validate();
  ServeBenchResult result;
  result.options = options;
  const auto& o = options;
  checkpoint::CheckpointMeta meta;
  bool sdn = false;
  {
    auto network = checkpoint::load_network(o.checkpoint, meta);
    result.num_exits = network->num_exits();
    sdn = network->num_ics() > 0;
  }
  const bool policy_modes = o.modes.size() > 1 || o.modes[0] != "cnn";
  if (policy_modes) {
    check(
        sdn,
        "--checkpoint ",
        o.checkpoint,
        ": stage and batch modes need an SDN (a checkpoint with ICs), got a "
        "CNN; benchmark it with --modes cnn");
    auto request = o.policy;
    request.num_exits = result.num_exits;
    request.num_classes = meta.num_classes;
    result.policy = analysis::resolve_exit_policy(request)->describe();
  }
  const Bodies bodies = make_bodies(o, meta);
  result.test_images = static_cast<int64_t>(bodies.npy.size());
  progress << "bench serve: " << result.test_images
           << " test images as float32 .npy bodies"
           << (result.policy.empty() ? "" : ", policy " + result.policy)
           << std::endl;

  // cnn first: its capacity sets every rate, its lowest load the bound.
  std::vector<std::string> modes = {"cnn"};
  for (const auto& m : o.modes) {
    if (m != "cnn") {
      modes.push_back(m);
    }
  }
  const bool sweep_cnn =
      std::find(o.modes.begin(), o.modes.end(), "cnn") != o.modes.end();
  const std::string fault_mode =
      std::find(o.modes.begin(), o.modes.end(), "stage") != o.modes.end() ?
      "stage" :
      o.modes[0];
  std::vector<Sent> fault_free; // the fault mode's requests at fault_load

  for (const auto& mode : modes) {
    ServerProcess server(server_argv(o, mode), mode);
    progress << "bench serve: sdn serve --mode " << mode << " on port "
             << server.port() << std::endl;
    const auto num_stages = mode == "stage" ? result.num_exits : 1;
    if (mode == "cnn") {
      result.capacity_connections = std::min<int64_t>(o.engine.queue_limit, 64);
      result.capacity = closed_loop(
          server.port(),
          bodies,
          result.capacity_connections,
          o.warmup_s,
          o.capacity_s,
          o.request_timeout_s);
      server.check_alive();
      check(
          result.capacity > 0,
          "bench serve: cnn mode answered no request in --capacity-s ",
          o.capacity_s,
          " s");
      progress << str_printf(
                      "bench serve: cnn capacity %.1f images/s (closed loop "
                      "of %lld connections, %g s)",
                      result.capacity,
                      static_cast<long long>(result.capacity_connections),
                      o.capacity_s)
               << std::endl;
      if (!sweep_cnn) {
        result.servers.push_back(server.stop());
        continue;
      }
    }
    for (size_t li = 0; li < o.loads.size(); ++li) {
      const double load = o.loads[li];
      const double rate = load * result.capacity;
      const auto schedule = serve::poisson_schedule(
          rate, o.warmup_s + o.duration_s, mix(o.seed, li + 1));
      const auto start = after(Clock::now(), 0.05);
      WindowStart window(server.port(), start, o.warmup_s);
      const auto sent =
          run_schedule(schedule, o.connections, start, [&](size_t i) {
            return classify(
                server.port(),
                bodies.npy[bodies.order[i % bodies.order.size()]],
                o.request_timeout_s);
          });
      server.check_alive();
      const auto before = window.samples();
      const auto after_samples =
          serve::parse_metrics(http_get(server.port(), "/metrics"));
      auto row = make_row(mode, load, rate, o, sent, bodies, result.num_exits);
      row.work = serve::server_work(before, after_samples, num_stages);
      progress << str_printf(
                      "bench serve: %-5s load %.2f: offered %.1f/s, answered "
                      "%.1f/s, p99 %.1f ms, %lld refused, %lld failed",
                      mode.c_str(),
                      load,
                      rate,
                      row.throughput,
                      row.latency.p99 * 1000,
                      static_cast<long long>(row.refused),
                      static_cast<long long>(row.failed))
               << std::endl;
      result.rows.push_back(std::move(row));
      if (mode == fault_mode && std::abs(load - o.fault_load) < 1e-9) {
        fault_free = std::move(sent);
      }
    }
    if (o.fault_share > 0 && mode == fault_mode) {
      FaultRun f;
      f.mode = mode;
      f.load = o.fault_load;
      f.share = o.fault_share;
      const double rate = o.fault_load * result.capacity;
      size_t li = 0;
      while (std::abs(o.loads[li] - o.fault_load) >= 1e-9) {
        ++li;
      }
      // The same arrivals and images as the fault-free run, and faults at
      // share / (1 - share) of that rate on top.
      const auto schedule = serve::poisson_schedule(
          rate, o.warmup_s + o.duration_s, mix(o.seed, li + 1));
      const auto faults = serve::poisson_schedule(
          rate * o.fault_share / (1 - o.fault_share),
          o.warmup_s + o.duration_s,
          mix(o.seed, 1000));
      f.rss_before_kb = proc_status_kb(server.pid(), "VmRSS");
      const auto start = after(Clock::now(), 0.05);
      WindowStart window(server.port(), start, o.warmup_s);
      std::vector<Sent> bad;
      std::exception_ptr fault_error;
      std::thread fault_thread([&] {
        try {
          bad = run_schedule(faults, o.connections, start, [&](size_t i) {
            Sent s;
            try {
              s.error = misbehave(
                  server.port(),
                  i % 4,
                  bodies.npy[bodies.order[i % bodies.order.size()]],
                  mix(o.seed, 2000 + i));
            } catch (const std::exception& e) {
              s.error = e.what();
            }
            return s;
          });
        } catch (...) {
          fault_error = std::current_exception();
        }
      });
      std::vector<Sent> good;
      try {
        good = run_schedule(schedule, o.connections, start, [&](size_t i) {
          return classify(
              server.port(),
              bodies.npy[bodies.order[i % bodies.order.size()]],
              o.request_timeout_s);
        });
      } catch (...) {
        fault_thread.join();
        throw;
      }
      fault_thread.join();
      if (fault_error) {
        std::rethrow_exception(fault_error);
      }
      f.healthy_after = server.alive();
      if (f.healthy_after) {
        try {
          const auto health =
              nlohmann::json::parse(http_get(server.port(), "/healthz"));
          f.healthy_after = health.at("status") == "ok";
        } catch (const std::exception&) {
          f.healthy_after = false;
        }
        f.rss_after_kb = proc_status_kb(server.pid(), "VmRSS");
        f.peak_rss_kb = proc_status_kb(server.pid(), "VmHWM");
      }
      f.well_behaved =
          make_row(mode, o.fault_load, rate, o, good, bodies, result.num_exits);
      if (f.healthy_after) {
        f.well_behaved.work = serve::server_work(
            window.samples(),
            serve::parse_metrics(http_get(server.port(), "/metrics")),
            num_stages);
      }
      f.well_behaved.mode = mode + "+faults";
      for (size_t i = 0; i < good.size() && i < fault_free.size(); ++i) {
        if (good[i].scheduled >= o.warmup_s && good[i].status == 200 &&
            fault_free[i].status == 200) {
          ++f.compared;
          f.same_class += good[i].prediction == fault_free[i].prediction;
        }
      }
      for (size_t k = 0; k < 4; ++k) {
        FaultKindResult r;
        r.kind = kFaultKinds[k];
        for (size_t i = k; i < bad.size(); i += 4) {
          ++r.sent;
          ++r.outcomes[bad[i].error];
        }
        f.faults.push_back(std::move(r));
      }
      progress << str_printf(
                      "bench serve: fault run (%s, load %.2f, %.0f %% "
                      "misbehaving): well-behaved p99 %.1f ms, %lld of %lld "
                      "answers the same, server %s",
                      mode.c_str(),
                      o.fault_load,
                      o.fault_share * 100,
                      f.well_behaved.latency.p99 * 1000,
                      static_cast<long long>(f.same_class),
                      static_cast<long long>(f.compared),
                      f.healthy_after ? "healthy" : "NOT healthy")
               << std::endl;
      result.fault = std::move(f);
    }
    result.servers.push_back(server.stop());
    progress << "bench serve: sdn serve --mode " << mode << ": "
             << result.servers.back().end << std::endl;
  }

  result.bound_given = o.p99_bound_s.has_value();
  if (o.p99_bound_s) {
    result.rule.p99_bound_s = *o.p99_bound_s;
  } else {
    for (const auto& row : result.rows) {
      if (row.mode == "cnn") { // the lowest load comes first
        result.rule.p99_bound_s = 5 * row.latency.p99;
        break;
      }
    }
  }
  result.verdicts = serve::verdicts(result.rows, result.rule);
  return result;
}

} // namespace sdn::app
