// Options, environment, and the collectives with two ranks as two threads of
// this process (Gloo over a file store or loopback TCP).
#include "sdn/train/distributed.h"
#include "sdn/util/error.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>

namespace fs = std::filesystem;
using sdn::train::Communicator;
using sdn::train::DistributedOptions;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "";
}

// A fresh rendezvous file (a file store must not outlive its run).
std::string store_file(const std::string& name) {
  const auto path = fs::path(sdn::testing::unique_temp_dir("dist_unit")) / name;
  return "file:" + path.string();
}

DistributedOptions rank_options(int64_t rank, const std::string& master) {
  DistributedOptions o;
  o.world_size = 2;
  o.rank = rank;
  o.master = master;
  o.timeout_seconds = 20;
  return o;
}

// Runs body(rank) on two threads, each with its own Communicator; returns
// each rank's error message ("" when it succeeded).
std::vector<std::string> two_ranks(
    const std::string& master,
    const std::function<void(Communicator&)>& body) {
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int64_t r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      try {
        Communicator comm(rank_options(r, master), "cpu");
        body(comm);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  return errors;
}

bool has_gloo() {
  const auto b = sdn::train::available_backends();
  return std::find(b.begin(), b.end(), "gloo") != b.end();
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    setenv(name, value, /*overwrite=*/1);
  }
  ~ScopedEnv() {
    unsetenv(name_);
  }

 private:
  const char* name_;
};

} // namespace

TEST(Distributed, OptionsNameTheBadParameter) {
  DistributedOptions o;
  EXPECT_NO_THROW(o.validate());
  o.world_size = 0;
  EXPECT_NE(
      error_of([&] { o.validate(); }).find("--world-size"), std::string::npos);
  o.world_size = 2;
  o.rank = 2;
  EXPECT_NE(error_of([&] { o.validate(); }).find("--rank"), std::string::npos);
  o.rank = 1;
  o.master = "nohostport";
  EXPECT_NE(
      error_of([&] { o.validate(); }).find("--master"), std::string::npos);
  o.master = "host:99999";
  EXPECT_NE(
      error_of([&] { o.validate(); }).find("--master"), std::string::npos);
  o.master = "file:/tmp/x";
  EXPECT_NO_THROW(o.validate());
  o.master = "[::1]:1234";
  EXPECT_NO_THROW(o.validate());
  o.timeout_seconds = 0;
  EXPECT_NE(
      error_of([&] { o.validate(); }).find("--dist-timeout"),
      std::string::npos);
}

TEST(Distributed, EnvironmentOverridesTheBase) {
  {
    ScopedEnv w("WORLD_SIZE", "4");
    ScopedEnv r("RANK", "3");
    ScopedEnv l("LOCAL_RANK", "1");
    ScopedEnv p("MASTER_PORT", "1234");
    const auto o = sdn::train::distributed_options_from_env();
    EXPECT_EQ(o.world_size, 4);
    EXPECT_EQ(o.rank, 3);
    EXPECT_EQ(o.local_rank, 1);
    EXPECT_EQ(o.master, "127.0.0.1:1234");
    ScopedEnv a("MASTER_ADDR", "node7");
    EXPECT_EQ(sdn::train::distributed_options_from_env().master, "node7:1234");
  }
  EXPECT_EQ(sdn::train::distributed_options_from_env().world_size, 1);
  ScopedEnv bad("RANK", "one");
  EXPECT_NE(
      error_of([] { sdn::train::distributed_options_from_env(); }).find("RANK"),
      std::string::npos);
}

TEST(Distributed, CudaDevicePerRank) {
  DistributedOptions o;
  EXPECT_EQ(sdn::train::device_for_rank("cuda", o), "cuda");
  o.world_size = 2;
  o.rank = 1;
  o.local_rank = 3;
  EXPECT_EQ(sdn::train::device_for_rank("cuda", o), "cuda:3");
  EXPECT_EQ(sdn::train::device_for_rank("cuda:1", o), "cuda:1");
  EXPECT_EQ(sdn::train::device_for_rank("cpu", o), "cpu");
}

TEST(Distributed, OneProcessIsANoOp) {
  Communicator comm(DistributedOptions{}, "cpu");
  EXPECT_EQ(comm.world_size(), 1);
  EXPECT_TRUE(comm.is_main());
  EXPECT_EQ(comm.backend(), "none");
  auto p = torch::ones({3}, torch::requires_grad());
  p.sum().backward();
  comm.average_gradients({p});
  EXPECT_TRUE(torch::equal(p.grad(), torch::ones({3})));
  EXPECT_EQ(comm.sum({1.5, 2}), (std::vector<double>{1.5, 2}));
  EXPECT_DOUBLE_EQ(comm.mean(3), 3);
  comm.check_same({torch::ones({2})}, "x");
  comm.barrier();
}

TEST(Distributed, TwoRanksAverageBroadcastAndCheck) {
  ASSERT_TRUE(has_gloo());
  // Enough gradient bytes for several buckets, plus a parameter without a
  // gradient and one of another dtype.
  const int64_t big = Communicator::kBucketBytes / 4 + 1000;
  const auto errors =
      two_ranks(store_file("collectives"), [&](Communicator& c) {
        const double r = static_cast<double>(c.rank());
        EXPECT_EQ(c.backend(), "gloo");
        std::vector<torch::Tensor> params = {
            torch::zeros({big}, torch::requires_grad()),
            torch::zeros({4, 5}, torch::requires_grad()),
            torch::zeros({7}, torch::requires_grad()),
            torch::zeros(
                {3}, torch::dtype(torch::kFloat64).requires_grad(true))};
        for (size_t i = 0; i < params.size(); ++i) {
          if (i != 2) {
            params[i].mutable_grad() = torch::full_like(params[i], r + 1 + i);
          }
        }
        c.average_gradients(params);
        for (size_t i = 0; i < params.size(); ++i) {
          if (i == 2) {
            EXPECT_FALSE(params[i].grad().defined());
            continue;
          }
          EXPECT_TRUE(torch::allclose(
              params[i].grad(), torch::full_like(params[i], 1.5 + i)))
              << "parameter " << i;
        }
        // Rank 0's values reach every rank, in place, for every dtype.
        auto w = torch::full({2, 3}, r, torch::requires_grad());
        auto counter =
            torch::full({1}, static_cast<int64_t>(10 + r), torch::kInt64);
        auto nhwc = torch::rand({2, 3, 4, 4})
                        .add_(r)
                        .contiguous(torch::MemoryFormat::ChannelsLast);
        auto root = c.rank() == 0 ? nhwc.clone() : torch::Tensor();
        c.broadcast({w, counter, nhwc});
        EXPECT_TRUE(torch::equal(w, torch::zeros({2, 3})));
        EXPECT_EQ(counter.item<int64_t>(), 10);
        EXPECT_TRUE(nhwc.is_contiguous(torch::MemoryFormat::ChannelsLast));
        c.check_same({w, counter, nhwc}, "the broadcast tensors");
        if (c.rank() == 0) {
          EXPECT_TRUE(torch::equal(nhwc, root));
        }
        EXPECT_EQ(c.sum({r, 1}), (std::vector<double>{1, 2}));
        EXPECT_DOUBLE_EQ(c.mean(r), 0.5);
        c.check_same(uint64_t{42}, "a fingerprint");
        // Differences are found on every rank.
        EXPECT_NE(
            error_of([&] {
              c.check_same({torch::full({2}, r)}, "the weights");
            }).find("disagree on the weights"),
            std::string::npos);
        EXPECT_NE(
            error_of([&] {
              c.check_same(
                  static_cast<uint64_t>(c.rank() * 1000), "the options");
            }).find("the options"),
            std::string::npos);
        c.barrier();
      });
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
}

TEST(Distributed, ARankThatLeavesFailsTheOthersCollective) {
  ASSERT_TRUE(has_gloo());
  const auto errors = two_ranks(store_file("leave"), [](Communicator& c) {
    c.barrier();
    if (c.rank() == 1) {
      return; // its Communicator closes: a crashed rank, as seen by rank 0
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (int i = 0; i < 10; ++i) {
      c.sum({1.0});
    }
  });
  EXPECT_NE(errors[0].find("rank 0 of 2"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("--resume"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[1], "");
}

TEST(Distributed, RendezvousTimesOutWithAClearError) {
  ASSERT_TRUE(has_gloo());
  auto o = rank_options(0, store_file("alone"));
  o.timeout_seconds = 1;
  const auto msg = error_of([&] { Communicator comm(o, "cpu"); });
  EXPECT_NE(msg.find("rendezvous"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rank 0 of 2"), std::string::npos) << msg;
}

TEST(Distributed, CudaWithoutNcclIsRefusedClearly) {
  const auto b = sdn::train::available_backends();
  if (std::find(b.begin(), b.end(), "nccl") != b.end()) {
    GTEST_SKIP() << "this LibTorch has NCCL";
  }
  // Refused before the rendezvous: waiting for the absent rank 1 would end
  // in a rendezvous error instead.
  auto o = rank_options(0, "127.0.0.1:29533");
  o.timeout_seconds = 2;
  const auto msg = error_of([&] { Communicator comm(o, "cuda:0"); });
  EXPECT_NE(msg.find("needs NCCL"), std::string::npos) << msg;
}

TEST(Distributed, NcclAveragesCudaGradients) {
  if (!torch::cuda::is_available() || torch::cuda::device_count() < 2) {
    GTEST_SKIP() << "needs two CUDA devices";
  }
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  const auto master = store_file("nccl");
  for (int64_t r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      try {
        const std::string device = sdn::str_cat("cuda:", r);
        Communicator c(rank_options(r, master), device);
        EXPECT_EQ(c.backend(), "nccl");
        auto p = torch::zeros({5}, torch::device(device).requires_grad(true));
        p.mutable_grad() = torch::full_like(p, static_cast<double>(r));
        c.average_gradients({p});
        EXPECT_TRUE(torch::allclose(p.grad().cpu(), torch::full({5}, 0.5)));
        EXPECT_EQ(c.sum({1}), (std::vector<double>{2}));
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
}
