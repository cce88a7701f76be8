// `sdn launch`: starts N local processes of this sdn binary, one per
// data-parallel rank (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
// set for each), forwards signals to them and fails, stopping the others, as
// soon as one of them fails.
#include "commands.h"

#include "sdn/util/error.h"
#include "sdn/device/threads.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace sdn::cli {

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

struct LaunchCli {
  int nproc = 0;
  int port = 0;
  std::vector<std::string> command;
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

std::string self_path() {
  std::vector<char> buf(4096);
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  check(n > 0, "launch: cannot find the sdn binary (/proc/self/exe)");
  return std::string(buf.data(), static_cast<size_t>(n));
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

void run_launch(const LaunchCli& cli) {
  check(cli.nproc >= 1, "-n must be >= 1, got ", cli.nproc);
  check(
      cli.port >= 0 && cli.port < 65536,
      "--port must be in [0, 65535], got ",
      cli.port);
  check(
      !cli.command.empty(),
      "launch: give the command after --, e.g. sdn launch -n 2 -- train ...");
  const int port = cli.port > 0 ? cli.port : free_port();
  const std::string exe = self_path();
  std::vector<std::string> args = {exe};
  bool has_threads = false;
  for (const auto& a : cli.command) {
    has_threads =
        has_threads || a == "--threads" || a.rfind("--threads=", 0) == 0;
  }
  if (!has_threads) {
    // The cores are shared: N processes with one thread per core each would
    // oversubscribe them.
    const int threads = global_options().threads > 0 ?
        global_options().threads :
        std::max(1, hardware_threads() / cli.nproc);
    args.push_back("--threads");
    args.push_back(std::to_string(threads));
  }
  args.insert(args.end(), cli.command.begin(), cli.command.end());
  auto argv = pointers(args);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    ::sigaction(sig, &sa, nullptr);
  }
  const pid_t parent = ::getpid();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < cli.nproc; ++rank) {
    auto env_strings = rank_environment(rank, cli.nproc, port);
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
      cli.nproc,
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

} // namespace

void setup_launch(CLI::App& app) {
  auto cli = std::make_shared<LaunchCli>();
  auto* sub = app.add_subcommand(
      "launch",
      "Start N local processes of a data-parallel `sdn train` (one per "
      "rank, with WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT set), forward "
      "signals to them, and stop them all as soon as one fails.\n"
      "Examples:\n"
      "  sdn launch -n 2 -- train --arch resnet56 --dataset cifar10 --mode "
      "sdn --batch-size 64 --out runs/sdn\n"
      "  sdn launch -n 2 -- train --resume runs/sdn");
  sub->add_option("-n,--nproc", cli->nproc, "Processes (ranks) to start")
      ->required();
  sub->add_option(
         "--port",
         cli->port,
         "Rendezvous port on 127.0.0.1 (default: a free one)")
      ->capture_default_str();
  sub->add_option(
         "command",
         cli->command,
         "The sdn subcommand and its options, after --")
      ->required();
  sub->callback([cli] {
    apply_global_options();
    run_launch(*cli);
  });
}

} // namespace sdn::cli
