#include "sdn/checkpoint/config.h"
#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using sdn::checkpoint::Mode;
using sdn::checkpoint::TrainConfig;

namespace {

std::string error_of(const TrainConfig& c) {
  try {
    c.validate();
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "";
}

TrainConfig valid() {
  TrainConfig c;
  c.data.name = "synthetic";
  c.out = "/tmp/x";
  return c;
}

} // namespace

TEST(TrainConfig, RecipesPerArchAndMode) {
  TrainConfig c;
  c.arch = "vgg16";
  c.mode = Mode::kSdn;
  sdn::checkpoint::apply_recipe(c);
  EXPECT_EQ(c.epochs, 100);
  EXPECT_DOUBLE_EQ(c.lr, 0.1);
  EXPECT_DOUBLE_EQ(c.weight_decay, 5e-4);
  EXPECT_EQ(c.milestones, (std::vector<int64_t>{35, 60, 85}));
  c.arch = "mobilenet";
  c.mode = Mode::kIcOnly;
  sdn::checkpoint::apply_recipe(c);
  EXPECT_EQ(c.epochs, 25);
  EXPECT_DOUBLE_EQ(c.lr, 1e-3);
  EXPECT_DOUBLE_EQ(c.weight_decay, 1e-4);
  EXPECT_EQ(c.optimizer, sdn::checkpoint::OptimizerKind::kAdam);
  EXPECT_EQ(c.milestones, (std::vector<int64_t>{15}));
}

TEST(TrainConfig, BadOptionsNameTheParameter) {
  auto c = valid();
  EXPECT_EQ(error_of(c), "");
  c.epochs = 0;
  EXPECT_NE(error_of(c).find("--epochs"), std::string::npos);
  c = valid();
  c.lr = -1;
  EXPECT_NE(error_of(c).find("--lr"), std::string::npos);
  c = valid();
  c.milestones = {10, 5};
  EXPECT_NE(error_of(c).find("--milestones"), std::string::npos);
  c = valid();
  c.arch = "alexnet";
  EXPECT_NE(error_of(c).find("alexnet"), std::string::npos);
  c = valid();
  c.mode = Mode::kIcOnly;
  EXPECT_NE(error_of(c).find("--from"), std::string::npos);
  c = valid();
  c.out.clear();
  EXPECT_NE(error_of(c).find("--out"), std::string::npos);
  c = valid();
  c.poison_rate = 2;
  EXPECT_NE(error_of(c).find("--poison-rate"), std::string::npos);
  EXPECT_THROW(sdn::checkpoint::parse_mode("joint"), sdn::Error);
}

TEST(TrainConfig, JsonRoundTrip) {
  auto c = valid();
  c.mode = Mode::kSdn;
  c.milestones = {3, 7};
  c.warmup_steps = 12;
  c.trigger.target = 3;
  const auto back =
      sdn::checkpoint::config_from_json(sdn::checkpoint::to_json(c));
  EXPECT_EQ(sdn::checkpoint::to_json(back), sdn::checkpoint::to_json(c));
  EXPECT_THROW(
      sdn::checkpoint::config_from_json(nlohmann::json{{"arch", "x"}}),
      sdn::Error);
}
