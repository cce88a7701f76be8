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
  // Mixed training starts from a CNN; distillation needs ICs.
  c = valid();
  c.mode = Mode::kMixed;
  EXPECT_EQ(
      error_of(c), "--from: mixed training needs a trained CNN checkpoint");
  c.from = "/tmp/cnn";
  c.distill = 0.5;
  EXPECT_EQ(error_of(c), "");
  c.distill = -1;
  EXPECT_NE(error_of(c).find("--distill must be"), std::string::npos);
  c = valid();
  c.distill = 1;
  EXPECT_NE(error_of(c).find("a CNN has no ICs"), std::string::npos);
  c = valid();
  c.mode = Mode::kSdn;
  c.distill = 1;
  c.distill_temperature = 0;
  EXPECT_NE(
      error_of(c).find("--distill-temperature must be"), std::string::npos);
  // Where float32 overflows or the softmaxes carry nothing: refused, not a
  // NaN loss blamed on --lr later.
  for (const double t : {1e-300, 0.009, 1001.0, 1e300}) {
    c.distill_temperature = t;
    EXPECT_NE(
        error_of(c).find("--distill-temperature must be in [0.01, 1000]"),
        std::string::npos)
        << t;
  }
  c.distill_temperature = 3;
  EXPECT_EQ(error_of(c), "");
  c.distill = 1e300;
  EXPECT_NE(
      error_of(c).find("--distill must be in [0, 1e6]"), std::string::npos);
  c = valid();
  c.from = "/tmp/cnn";
  EXPECT_EQ(error_of(c), "--from is only for --mode ic-only or mixed");
  EXPECT_EQ(sdn::checkpoint::parse_mode("mixed"), Mode::kMixed);
  EXPECT_EQ(sdn::checkpoint::mode_name(Mode::kMixed), "mixed");
  EXPECT_THROW(sdn::checkpoint::parse_lr_schedule("linear"), sdn::Error);
}

TEST(TrainConfig, JsonRoundTrip) {
  auto c = valid();
  c.mode = Mode::kSdn;
  c.milestones = {3, 7};
  c.warmup_steps = 12;
  c.trigger.target = 3;
  c.data.classes = {4, 0, 7};
  c.lr_schedule = sdn::checkpoint::LrSchedule::kCosine;
  c.distill = 0.25;
  c.distill_temperature = 3;
  const auto back =
      sdn::checkpoint::config_from_json(sdn::checkpoint::to_json(c));
  EXPECT_EQ(sdn::checkpoint::to_json(back), sdn::checkpoint::to_json(c));
  EXPECT_EQ(back.data.classes, c.data.classes);
  EXPECT_EQ(back.lr_schedule, sdn::checkpoint::LrSchedule::kCosine);
  EXPECT_DOUBLE_EQ(back.distill, 0.25);
  EXPECT_DOUBLE_EQ(back.distill_temperature, 3);
  EXPECT_THROW(
      sdn::checkpoint::config_from_json(nlohmann::json{{"arch", "x"}}),
      sdn::Error);
}

TEST(TrainConfig, JsonErrorsNameTheKey) {
  auto j = sdn::checkpoint::to_json(valid());
  j.erase("lr");
  try {
    sdn::checkpoint::config_from_json(j, "config.");
    FAIL() << "no error";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'config.lr'"), std::string::npos)
        << e.what();
  }
  j = sdn::checkpoint::to_json(valid());
  j["data"].erase("val_size");
  try {
    sdn::checkpoint::config_from_json(j);
    FAIL() << "no error";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'data.val_size'"), std::string::npos)
        << e.what();
  }
  j = sdn::checkpoint::to_json(valid());
  j["optimizer"] = "rmsprop";
  try {
    sdn::checkpoint::config_from_json(j);
    FAIL() << "no error";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'optimizer'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("rmsprop"), std::string::npos);
  }
  // Configs written before the regimes of later work existed: the step
  // schedule, no distillation.
  j = sdn::checkpoint::to_json(valid());
  for (const char* key : {"lr_schedule", "distill", "distill_temperature"}) {
    j.erase(key);
  }
  const auto old = sdn::checkpoint::config_from_json(j);
  EXPECT_EQ(old.lr_schedule, sdn::checkpoint::LrSchedule::kStep);
  EXPECT_DOUBLE_EQ(old.distill, 0);
  // Configs written before channels_last existed still load.
  j = sdn::checkpoint::to_json(valid());
  j.erase("channels_last");
  EXPECT_TRUE(sdn::checkpoint::config_from_json(j).channels_last);
  // ... and so do those written before --classes existed: all classes.
  j = sdn::checkpoint::to_json(valid());
  j["data"].erase("classes");
  EXPECT_TRUE(sdn::checkpoint::config_from_json(j).data.classes.empty());
  j["data"]["classes"] = "0,1";
  try {
    sdn::checkpoint::config_from_json(j);
    FAIL() << "no error";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'data.classes'"), std::string::npos)
        << e.what();
  }
}

TEST(ResolveTrainConfig, RecipeThenOnlyTheGivenOverrides) {
  auto base = valid();
  base.arch = "vgg16";
  base.batch_size = 32;
  // Nothing given: the recipe of (arch, mode), the rest from base.
  auto c = sdn::checkpoint::resolve_train_config(base, "sdn", {});
  EXPECT_EQ(c.mode, Mode::kSdn);
  EXPECT_EQ(c.epochs, 100);
  EXPECT_DOUBLE_EQ(c.lr, 0.1);
  EXPECT_DOUBLE_EQ(c.weight_decay, 5e-4);
  EXPECT_EQ(c.milestones, (std::vector<int64_t>{35, 60, 85}));
  EXPECT_EQ(c.optimizer, sdn::checkpoint::OptimizerKind::kSgd);
  EXPECT_EQ(c.batch_size, 32);
  // Fields in base that the recipe sets are the recipe's unless given.
  base.lr = 7;
  base.epochs = 3;
  c = sdn::checkpoint::resolve_train_config(base, "cnn", {});
  EXPECT_DOUBLE_EQ(c.lr, 0.1);
  EXPECT_EQ(c.epochs, 100);
  // Given overrides win, also when they equal the recipe's value.
  sdn::checkpoint::RecipeOverrides o;
  o.epochs = 100;
  o.lr = 0.5;
  o.weight_decay = 0;
  o.milestones = std::vector<int64_t>{2, 4};
  o.optimizer = "adam";
  c = sdn::checkpoint::resolve_train_config(base, "cnn", o);
  EXPECT_EQ(c.epochs, 100);
  EXPECT_DOUBLE_EQ(c.lr, 0.5);
  EXPECT_DOUBLE_EQ(c.weight_decay, 0);
  EXPECT_EQ(c.milestones, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(c.optimizer, sdn::checkpoint::OptimizerKind::kAdam);
  // IC-only recipe: Adam, 25 epochs; --optimizer sgd overrides it.
  base.from = "/tmp/cnn/last";
  sdn::checkpoint::RecipeOverrides sgd;
  sgd.optimizer = "sgd";
  c = sdn::checkpoint::resolve_train_config(base, "ic-only", sgd);
  EXPECT_EQ(c.epochs, 25);
  EXPECT_EQ(c.optimizer, sdn::checkpoint::OptimizerKind::kSgd);
}

TEST(ResolveTrainConfig, BadOptionsNameTheOption) {
  const auto message = [](const std::string& mode,
                          const sdn::checkpoint::RecipeOverrides& o) {
    try {
      sdn::checkpoint::resolve_train_config(valid(), mode, o);
    } catch (const sdn::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message("joint", {}).find("--mode"), std::string::npos);
  sdn::checkpoint::RecipeOverrides o;
  o.optimizer = "rmsprop";
  EXPECT_NE(message("cnn", o).find("--optimizer"), std::string::npos);
  o = {};
  o.epochs = 0;
  EXPECT_NE(message("cnn", o).find("--epochs"), std::string::npos);
  o = {};
  o.milestones = std::vector<int64_t>{5, 3};
  EXPECT_NE(message("cnn", o).find("--milestones"), std::string::npos);
  // The result is validated: ic-only without --from.
  EXPECT_NE(message("ic-only", {}).find("--from"), std::string::npos);
}
