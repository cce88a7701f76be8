// Per-exit summaries and their JSON / table forms.
#include "sdn/network/network_info.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>

namespace sdn::network {
namespace {

NetworkOptions resnet_cifar10() {
  NetworkOptions o;
  o.backbone.arch = "resnet56";
  return o;
}

TEST(NetworkInfo, ResNet56Cifar10Paper) {
  const auto info = network_info(resnet_cifar10(), "cifar10", Counting::kPaper);
  EXPECT_NEAR(info.cnn_cost, 252573430, 1);
  ASSERT_EQ(info.exits.size(), 7u);
  EXPECT_NEAR(info.exits[0].relative_cost, 0.154, 0.001);
  EXPECT_EQ(info.exits[0].block, 3);
  EXPECT_EQ(info.exits[0].params, 2571);
  EXPECT_EQ(info.exits[0].input_shape, (std::vector<int64_t>{16, 32, 32}));
  EXPECT_EQ(info.exits[0].kernel, 8);
  EXPECT_EQ(info.exits[0].features, 256);
  EXPECT_EQ(info.exits.back().block, 26);
  EXPECT_EQ(info.exits.back().features, 64);
  EXPECT_EQ(info.exits.back().params, 650);
  EXPECT_DOUBLE_EQ(info.exits.back().cost, info.sdn_cost);
  EXPECT_EQ(info.exits.back().cumulative_params, info.sdn_params);

  const auto json = to_json(info);
  EXPECT_EQ(json["arch"], "resnet56");
  EXPECT_EQ(json["dataset"], "cifar10");
  EXPECT_EQ(json["counting"], "paper");
  EXPECT_EQ(json["cnn_cost"].get<double>(), info.cnn_cost);
  ASSERT_EQ(json["exits"].size(), 7u);
  EXPECT_EQ(json["exits"][0]["params"], 2571);
  EXPECT_EQ(
      json["exits"][6]["relative_cost"].get<double>(),
      info.exits.back().relative_cost);

  const std::string table = format_table(info);
  EXPECT_NE(table.find("IC6"), std::string::npos) << table;
  EXPECT_NE(table.find("final"), std::string::npos) << table;
  EXPECT_NE(table.find("GOps"), std::string::npos) << table;
}

TEST(NetworkInfo, ExactCountingUsesMacs) {
  const auto info = network_info(resnet_cifar10(), "cifar10", Counting::kExact);
  EXPECT_DOUBLE_EQ(info.cnn_cost, 125747840.0);
  EXPECT_NE(format_table(info).find("GMACs"), std::string::npos);
  EXPECT_EQ(to_json(info)["counting"], "exact");
}

TEST(NetworkInfo, CountingNamesParse) {
  EXPECT_EQ(parse_counting("paper"), Counting::kPaper);
  EXPECT_EQ(parse_counting("exact"), Counting::kExact);
  try {
    parse_counting("flops");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--counting"), std::string::npos);
  }
}

} // namespace
} // namespace sdn::network
