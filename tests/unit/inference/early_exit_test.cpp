// Real early exit on a network is proven equal to the trace simulation in
// tests/integration/early_exit_test.cpp; these are its options and printers.
#include "sdn/inference/early_exit.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace {

sdn::inference::EarlyExitResult result(const std::string& policy) {
  sdn::inference::EarlyExitResult r;
  r.policy = policy;
  r.param = 0.75;
  r.description = policy + " description";
  r.batch_size = 7;
  r.exit_cost = {0.25, 0.5, 1.0};
  r.exit_counts = {3, 1, 6};
  r.accuracy = 80;
  r.cost = 0.725;
  r.seconds = 0.5;
  r.images_per_second = 20;
  return r;
}

} // namespace

TEST(EarlyExit, OptionsNameTheBadParameter) {
  sdn::inference::EarlyExitOptions options;
  EXPECT_NO_THROW(options.validate());
  options.batch_size = 0;
  EXPECT_THROW(options.validate(), sdn::Error);
  options.batch_size = 1;
  options.device = "tpu";
  try {
    options.validate();
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--device"), std::string::npos);
  }
}

TEST(EarlyExit, JsonKeepsThresholdForMaxProbOnly) {
  const auto j = sdn::inference::early_exit_json(result("max-prob"));
  EXPECT_EQ(j.at("policy"), "max-prob");
  EXPECT_DOUBLE_EQ(j.at("param").get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j.at("threshold").get<double>(), 0.75);
  EXPECT_EQ(j.at("exit_counts"), nlohmann::json({3, 1, 6}));
  EXPECT_EQ(j.at("batch_size"), 7);
  const auto e = sdn::inference::early_exit_json(result("entropy"));
  EXPECT_FALSE(e.contains("threshold"));
  EXPECT_EQ(e.at("policy"), "entropy");
}

TEST(EarlyExit, TableNamesPolicySplitAndEveryExit) {
  std::ostringstream out;
  sdn::inference::print_early_exit(out, result("entropy"), "test");
  const std::string text = out.str();
  EXPECT_NE(text.find("entropy"), std::string::npos) << text;
  EXPECT_NE(text.find("test split (10 images)"), std::string::npos) << text;
  EXPECT_NE(text.find("batch size 7"), std::string::npos) << text;
}
