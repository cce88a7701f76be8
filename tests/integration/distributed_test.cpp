// Data-parallel training with real processes of the sdn binary on loopback:
// two ranks match one process with twice the batch, a two-rank SDN run
// checkpoints and resumes, a killed rank stops the others with an error, and
// `sdn launch` stops every rank when one fails or it is signalled.
#include "sdn/checkpoint/checkpoint.h"
#include "sdn/network/sdn_network.h"
#include "sdn/train/trainer.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string temp_dir(const std::string& name) {
  return sdn::testing::unique_temp_dir("dist_" + name);
}

// The tiny synthetic problem every run here trains on.
std::vector<std::string> data_args() {
  return {
      "--arch",
      "resnet56",
      "--dataset",
      "synthetic",
      "--synthetic-train",
      "128",
      "--synthetic-test",
      "16",
      "--synthetic-classes",
      "4",
      "--synthetic-channels",
      "1",
      "--val-size",
      "32",
      "--no-augment"};
}

std::vector<std::string> concat(
    std::vector<std::string> a,
    const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Starts `sdn args...` with stdout and stderr into `log`.
pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all = {SDN_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Waits up to `seconds` for `pid`; its wait status, or -1 (then killed).
int wait_for(pid_t pid, double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

int exit_code(int status) {
  return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs `sdn args...` to completion (at most 60 s); its exit code.
int run_sdn(const std::vector<std::string>& args, const std::string& log) {
  return exit_code(wait_for(spawn(args, log), 60));
}

bool wait_until(const std::function<bool()>& ready, double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    if (ready()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::vector<nlohmann::json> metrics(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(sdn::read_file(dir + "/metrics.jsonl"));
  std::string line;
  while (std::getline(lines, line)) {
    out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// The file's text so far ("" before it exists).
std::string read_log(const std::string& path) {
  return sdn::path_exists(path) ? sdn::read_file(path) : "";
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// A long two-rank CNN run (killed by the tests long before it ends).
std::vector<std::string> long_run(const std::string& out) {
  return concat(
      {"train",
       "--mode",
       "cnn",
       "--epochs",
       "200",
       "--lr",
       "0.01",
       "--out",
       out},
      data_args());
}

} // namespace

TEST(Distributed, TwoRanksMatchOneProcessWithTwiceTheBatch) {
  // IC-only training, clean variant: the backbone runs in eval mode and the
  // ICs have no BatchNorm, so the mean of two ranks' gradients over 8 samples
  // each is the gradient over the 16 samples of the one-process batch.
  const std::string dir = temp_dir("equiv");
  ASSERT_EQ(
      run_sdn(
          concat(
              {"--threads",
               "1",
               "train",
               "--mode",
               "cnn",
               "--epochs",
               "1",
               "--batch-size",
               "32",
               "--lr",
               "0.02",
               "--out",
               dir + "/cnn"},
              data_args()),
          dir + "/cnn.log"),
      0)
      << sdn::read_file(dir + "/cnn.log");
  const auto ic_args = [&](const std::string& out, const std::string& batch) {
    return concat(
        {"train",
         "--mode",
         "ic-only",
         "--ic-only-clean",
         "--from",
         dir + "/cnn/last",
         "--epochs",
         "2",
         "--batch-size",
         batch,
         "--out",
         out},
        data_args());
  };
  ASSERT_EQ(
      run_sdn(
          concat({"launch", "-n", "2", "--"}, ic_args(dir + "/two", "8")),
          dir + "/two.log"),
      0)
      << sdn::read_file(dir + "/two.log");
  ASSERT_EQ(
      run_sdn(
          concat({"--threads", "1"}, ic_args(dir + "/one", "16")),
          dir + "/one.log"),
      0)
      << sdn::read_file(dir + "/one.log");

  sdn::checkpoint::CheckpointMeta meta;
  auto two = sdn::checkpoint::load_network(dir + "/two/last", meta);
  auto one = sdn::checkpoint::load_network(dir + "/one/last");
  auto cnn = sdn::checkpoint::load_network(dir + "/cnn/last");
  // The ICs both runs started from: built after seeding with the default
  // --seed, as the trainer does.
  torch::manual_seed(1221);
  sdn::network::SdnNetwork init(meta.network_options());
  auto p_init = init->named_parameters();
  auto p_one = one->named_parameters();
  auto p_cnn = cnn->named_parameters();
  int64_t ic_tensors = 0;
  for (const auto& item : two->named_parameters()) {
    const auto& other = p_one[item.key()];
    if (p_cnn.contains(item.key())) { // frozen backbone: untouched
      EXPECT_TRUE(torch::equal(item.value(), other)) << item.key();
      continue;
    }
    ++ic_tensors;
    // The ICs moved (Adam, 2 epochs x 6 steps) and agree up to rounding.
    EXPECT_GT(
        (item.value() - p_init[item.key()]).abs().max().item<double>(), 1e-4)
        << item.key();
    EXPECT_TRUE(torch::allclose(
        item.value(),
        other,
        /*rtol=*/1e-4,
        /*atol=*/1e-5))
        << item.key() << " differs by "
        << (item.value() - other).abs().max().item<double>();
  }
  EXPECT_GT(ic_tensors, 0);
  const auto m_two = metrics(dir + "/two");
  const auto m_one = metrics(dir + "/one");
  ASSERT_EQ(m_two.size(), 2u);
  ASSERT_EQ(m_one.size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    EXPECT_NEAR(
        m_two[e]["loss"].get<double>(), m_one[e]["loss"].get<double>(), 1e-4);
    // Sharded validation: exactly the one-process accuracy, give or take a
    // near-tie flipped by rounding.
    const auto a = m_two[e]["val_accuracy"].get<std::vector<double>>();
    const auto b = m_one[e]["val_accuracy"].get<std::vector<double>>();
    ASSERT_EQ(a.size(), b.size());
    for (size_t x = 0; x < a.size(); ++x) {
      EXPECT_NEAR(a[x], b[x], 100.0 / 32 + 1e-9) << "exit " << x;
    }
  }
  EXPECT_EQ(sdn::read_json(dir + "/two/last/meta.json")["world_size"], 2);
}

TEST(Distributed, TwoRankSdnTrainingCheckpointsAndResumes) {
  const std::string dir = temp_dir("sdn");
  const auto args = concat(
      {"launch",
       "-n",
       "2",
       "--",
       "train",
       "--mode",
       "sdn",
       "--epochs",
       "2",
       "--stop-after",
       "1",
       "--batch-size",
       "16",
       "--lr",
       "0.02",
       "--warmup-steps",
       "4",
       "--out",
       dir + "/run"},
      data_args());
  ASSERT_EQ(run_sdn(args, dir + "/first.log"), 0)
      << sdn::read_file(dir + "/first.log");
  const auto meta = sdn::checkpoint::read_checkpoint_meta(dir + "/run/last");
  EXPECT_EQ(meta.epoch, 1);
  EXPECT_TRUE(meta.with_ics);
  EXPECT_EQ(meta.world_size, 2);
  EXPECT_EQ(metrics(dir + "/run").size(), 1u);
  // Only rank 0 prints the table and the final line.
  const auto log = sdn::read_file(dir + "/first.log");
  EXPECT_EQ(count_of(log, "train acc %"), 1u) << log;
  EXPECT_EQ(count_of(log, "checkpoint: "), 1u) << log;

  ASSERT_EQ(
      run_sdn(
          {"launch", "-n", "2", "--", "train", "--resume", dir + "/run"},
          dir + "/resume.log"),
      0)
      << sdn::read_file(dir + "/resume.log");
  EXPECT_EQ(sdn::checkpoint::read_checkpoint_meta(dir + "/run/last").epoch, 2);
  const auto m = metrics(dir + "/run");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1]["val_accuracy"].size(), 7u);
}

TEST(Distributed, AKilledRankStopsRankZeroAndTheRunResumes) {
  const std::string dir = temp_dir("kill");
  const std::string out = dir + "/run";
  const std::string master = "127.0.0.1:" + std::to_string(free_port());
  std::vector<pid_t> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.push_back(spawn(
        concat(
            {"--threads", "1"},
            concat(
                long_run(out),
                {"--world-size",
                 "2",
                 "--rank",
                 std::to_string(r),
                 "--master",
                 master,
                 "--dist-timeout",
                 "30"})),
        dir + "/rank" + std::to_string(r) + ".log"));
  }
  ASSERT_TRUE(
      wait_until([&] { return sdn::path_exists(out + "/last/meta.json"); }, 60))
      << sdn::read_file(dir + "/rank0.log");
  kill(ranks[1], SIGKILL);
  waitpid(ranks[1], nullptr, 0);
  const int status = wait_for(ranks[0], 60);
  ASSERT_NE(status, -1) << "rank 0 still running 60 s after rank 1 died";
  EXPECT_NE(exit_code(status), 0);
  const auto log = sdn::read_file(dir + "/rank0.log");
  EXPECT_NE(log.find("error: rank 0 of 2"), std::string::npos) << log;

  // The run continues from its last checkpoint.
  const int64_t done =
      sdn::checkpoint::read_checkpoint_meta(out + "/last").epoch;
  ASSERT_EQ(
      run_sdn(
          {"launch",
           "-n",
           "2",
           "--",
           "train",
           "--resume",
           out,
           "--stop-after",
           "1"},
          dir + "/resume.log"),
      0)
      << sdn::read_file(dir + "/resume.log");
  EXPECT_EQ(
      sdn::checkpoint::read_checkpoint_meta(out + "/last").epoch, done + 1);
}

TEST(Distributed, LaunchStopsEveryRankWhenOneFailsOrOnASignal) {
  const std::string dir = temp_dir("launch");
  // Returns the ranks' pids that `launch` reported in its log.
  const auto pids_of = [](const std::string& log) {
    std::vector<pid_t> pids;
    const auto at = log.find("(pids ");
    if (at != std::string::npos) {
      std::istringstream in(log.substr(at + 6));
      pid_t p = 0;
      while (in >> p) {
        pids.push_back(p);
      }
    }
    return pids;
  };
  for (const int sig : {0, SIGTERM}) {
    const std::string log = dir + "/launch" + std::to_string(sig) + ".log";
    const pid_t launcher = spawn(
        concat(
            {"launch", "-n", "2", "--"},
            long_run(dir + "/run" + std::to_string(sig))),
        log);
    std::vector<pid_t> pids;
    ASSERT_TRUE(wait_until(
        [&] {
          pids = pids_of(read_log(log));
          return pids.size() == 2;
        },
        30));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (sig == 0) {
      kill(pids[1], SIGKILL); // one rank crashes
    } else {
      kill(launcher, sig); // the user or the scheduler stops the job
    }
    const int status = wait_for(launcher, 60);
    ASSERT_NE(status, -1) << sdn::read_file(log);
    EXPECT_EQ(exit_code(status), 1);
    const auto text = sdn::read_file(log);
    EXPECT_NE(
        text.find(sig == 0 ? "error: launch: rank 1" : "interrupted by signal"),
        std::string::npos)
        << text;
    // launch reaped both ranks before it returned.
    for (const pid_t p : pids) {
      EXPECT_NE(kill(p, 0), 0) << "rank pid " << p << " survived";
    }
  }
}
