#include "sdn/app/launcher.h"

#include "error_message.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

using sdn::testing::error_message;

namespace {

// Ranks that run `sh -c SCRIPT`.
sdn::app::LaunchOptions shell_ranks(int nproc, const std::string& script) {
  sdn::app::LaunchOptions options;
  options.nproc = nproc;
  options.executable = "/bin/sh";
  options.arguments = {"-c", script};
  return options;
}

} // namespace

TEST(Launcher, EveryRankSeesItsEnvironment) {
  // Each rank checks its own variables and fails with a distinct status
  // when one is wrong.
  const std::string script =
      "test \"$WORLD_SIZE\" = 3 || exit 11; "
      "test \"$LOCAL_WORLD_SIZE\" = 3 || exit 12; "
      "test \"$RANK\" = \"$LOCAL_RANK\" || exit 13; "
      "test \"$RANK\" -ge 0 -a \"$RANK\" -lt 3 || exit 14; "
      "test \"$MASTER_ADDR\" = 127.0.0.1 || exit 15; "
      "test \"$MASTER_PORT\" = 29555 || exit 16";
  auto options = shell_ranks(3, script);
  options.port = 29555;
  EXPECT_NO_THROW(sdn::app::launch(options));
}

TEST(Launcher, AFailingRankStopsTheOthersAndIsNamed) {
  // Rank 1 fails at once; rank 0 would sleep for a minute unless stopped.
  const auto options =
      shell_ranks(2, "if [ \"$RANK\" = 1 ]; then exit 3; fi; sleep 60");
  const std::string message = error_message([&] { sdn::app::launch(options); });
  EXPECT_NE(message.find("rank 1"), std::string::npos) << message;
  EXPECT_NE(message.find("exited with status 3"), std::string::npos) << message;
  EXPECT_NE(message.find("stopped the other ranks"), std::string::npos)
      << message;
}

TEST(Launcher, OptionsAreChecked) {
  auto options = shell_ranks(0, "true");
  EXPECT_NE(
      error_message([&] { options.validate(); }).find("-n"), std::string::npos);
  options.nproc = 1;
  options.port = 70000;
  EXPECT_NE(
      error_message([&] { options.validate(); }).find("--port"),
      std::string::npos);
  options.port = 0;
  options.arguments.clear();
  EXPECT_NE(
      error_message([&] { options.validate(); }).find("after --"),
      std::string::npos);
}

TEST(Launcher, ThreadsAreSharedUnlessTheCommandSetsThem) {
  using sdn::app::with_rank_threads;
  const std::vector<std::string> train = {"train", "--out", "d"};
  EXPECT_EQ(
      with_rank_threads(train, /*threads=*/3, /*nproc=*/2),
      (std::vector<std::string>{"--threads", "3", "train", "--out", "d"}));
  const auto shared = with_rank_threads(train, /*threads=*/0, /*nproc=*/64);
  ASSERT_EQ(shared.size(), 5u);
  EXPECT_EQ(shared[1], "1"); // never below one thread
  const std::vector<std::string> own = {"--threads=4", "train"};
  EXPECT_EQ(with_rank_threads(own, 2, 2), own);
}
