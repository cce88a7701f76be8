#include "sdn/app/launcher.h"

#include "sdn/device/threads.h"
#include "sdn/util/error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace sdn::app {

namespace {

// Seconds the ranks get to stop on SIGTERM before they are killed: enough to
// unwind, short enough not to leave a failed run hanging.
constexpr int kGraceSeconds = 10;
// Poll period of the supervision loop: fast reaction, negligible load.
constexpr auto kPoll = std::chrono::milliseconds(20);

volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  g_signal = sig;
}

// Catches SIGINT, SIGTERM and SIGHUP into g_signal while it lives, and puts
// the handlers that were there back afterwards (launch() may run inside a
// longer-lived process, e.g. a test).
class SignalForwarding {
 public:
  SignalForwarding() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < kSignals.size(); ++i) {
      ::sigaction(kSignals[i], &sa, &previous_[i]);
    }
  }
  ~SignalForwarding() {
    for (size_t i = 0; i < kSignals.size(); ++i) {
      ::sigaction(kSignals[i], &previous_[i], nullptr);
    }
  }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

 private:
  static constexpr std::array<int, 3> kSignals = {SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, 3> previous_{};
};

// A TCP port that was free a moment ago (the kernel's pick for port 0).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "launch: socket(): ", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok =
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int err = errno;
  ::close(fd);
  check(ok, "launch: cannot find a free port: ", std::strerror(err));
  return ntohs(addr.sin_port);
}

// This process's environment with the rank variables replaced.
std::vector<std::string> rank_environment(int rank, int world, int port) {
  const std::vector<std::pair<std::string, std::string>> set = {
      {"WORLD_SIZE", std::to_string(world)},
      {"RANK", std::to_string(rank)},
      {"LOCAL_RANK", std::to_string(rank)},
      {"LOCAL_WORLD_SIZE", std::to_string(world)},
      {"MASTER_ADDR", "127.0.0.1"},
      {"MASTER_PORT", std::to_string(port)}};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    bool replaced = false;
    for (const auto& kv : set) {
      replaced = replaced || entry.rfind(kv.first + "=", 0) == 0;
    }
    if (!replaced) {
      env.push_back(entry);
    }
  }
  for (const auto& kv : set) {
    env.push_back(kv.first + "=" + kv.second);
  }
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

std::string describe(int status) {
  if (WIFEXITED(status)) {
    return str_cat("exited with status ", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return str_cat("was killed by signal ", WTERMSIG(status));
  }
  return "stopped";
}

} // namespace

void LaunchOptions::validate() const {
  check(nproc >= 1, "-n must be >= 1, got ", nproc);
  check(port >= 0 && port < 65536, "--port must be in [0, 65535], got ", port);
  check(!executable.empty(), "launch: no program to run");
  check(
      !arguments.empty(),
      "launch: give the command after --, e.g. sdn launch -n 2 -- train ...");
}

std::vector<std::string> with_rank_threads(
    const std::vector<std::string>& command,
    int threads,
    int nproc) {
  for (const auto& a : command) {
    if (a == "--threads" || a.rfind("--threads=", 0) == 0) {
      return command;
    }
  }
  const int per_rank = threads > 0 ?
      threads :
      std::max(1, hardware_threads() / std::max(1, nproc));
  std::vector<std::string> out = {"--threads", std::to_string(per_rank)};
  out.insert(out.end(), command.begin(), command.end());
  return out;
}

std::string self_executable() {
  std::vector<char> buf(4096);
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  check(n > 0, "launch: cannot find the running executable (/proc/self/exe)");
  return std::string(buf.data(), static_cast<size_t>(n));
}

void launch(const LaunchOptions& options) {
  options.validate();
  const int port = options.port > 0 ? options.port : free_port();
  const std::string& exe = options.executable;
  std::vector<std::string> args = {exe};
  args.insert(args.end(), options.arguments.begin(), options.arguments.end());
  auto argv = pointers(args);

  g_signal = 0;
  const SignalForwarding forwarding;
  const pid_t parent = ::getpid();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < options.nproc; ++rank) {
    auto env_strings = rank_environment(rank, options.nproc, port);
    auto envp = pointers(env_strings);
    const pid_t pid = ::fork();
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec. A rank dies with
      // its launcher, whatever killed the launcher.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) {
        ::_exit(127);
      }
      ::execve(exe.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    if (pid < 0) {
      for (const pid_t p : pids) {
        ::kill(p, SIGKILL);
      }
      fail("launch: fork failed: ", std::strerror(errno));
    }
    pids.push_back(pid);
  }
  std::string list;
  for (size_t r = 0; r < pids.size(); ++r) {
    list += str_cat(r ? " " : "", pids[r]);
  }
  std::fprintf(
      stderr,
      "launch: %d ranks (pids %s), rendezvous 127.0.0.1:%d\n",
      options.nproc,
      list.c_str(),
      port);

  std::vector<bool> alive(pids.size(), true);
  size_t running = pids.size();
  std::string failure; // the first rank that failed, and how
  int forwarded = 0;
  auto kill_at = std::chrono::steady_clock::time_point::max();
  const auto stop_all = [&](int sig) {
    for (size_t r = 0; r < pids.size(); ++r) {
      if (alive[r]) {
        ::kill(pids[r], sig);
      }
    }
  };
  while (running > 0) {
    if (g_signal != 0 && forwarded == 0) {
      forwarded = g_signal;
      stop_all(forwarded);
      kill_at = std::chrono::steady_clock::now() +
          std::chrono::seconds(kGraceSeconds);
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t r = 0; r < pids.size(); ++r) {
        if (pids[r] != pid || !alive[r]) {
          continue;
        }
        alive[r] = false;
        --running;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && failure.empty() && forwarded == 0) {
          failure = str_cat("rank ", r, " (pid ", pid, ") ", describe(status));
          stop_all(SIGTERM);
          kill_at = std::chrono::steady_clock::now() +
              std::chrono::seconds(kGraceSeconds);
        }
      }
      continue;
    }
    if (std::chrono::steady_clock::now() >= kill_at) {
      stop_all(SIGKILL);
      kill_at = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(kPoll);
  }
  check(
      forwarded == 0,
      "launch: interrupted by signal ",
      forwarded,
      "; stopped every rank");
  check(failure.empty(), "launch: ", failure, "; stopped the other ranks");
}

} // namespace sdn::app
