#include "sdn/checkpoint/config.h"

#include "sdn/models/backbone.h"
#include "sdn/util/error.h"

#include <nlohmann/json.hpp>

namespace sdn::checkpoint {

Mode parse_mode(const std::string& name) {
  if (name == "cnn") {
    return Mode::kCnn;
  }
  if (name == "sdn") {
    return Mode::kSdn;
  }
  if (name == "ic-only") {
    return Mode::kIcOnly;
  }
  fail("--mode: expected cnn, sdn or ic-only, got '", name, "'");
}

std::string mode_name(Mode mode) {
  switch (mode) {
    case Mode::kCnn:
      return "cnn";
    case Mode::kSdn:
      return "sdn";
    case Mode::kIcOnly:
      return "ic-only";
  }
  return "?";
}

void TrainConfig::validate() const {
  models::BackboneOptions backbone;
  backbone.arch = arch;
  backbone.validate();
  data.validate();
  check(epochs > 0, "--epochs must be > 0, got ", epochs);
  check(batch_size > 0, "--batch-size must be > 0, got ", batch_size);
  check(
      eval_batch_size > 0,
      "--eval-batch-size must be > 0, got ",
      eval_batch_size);
  check(lr > 0, "--lr must be > 0, got ", lr);
  check(
      momentum >= 0 && momentum < 1,
      "--momentum must be in [0,1), got ",
      momentum);
  check(weight_decay >= 0, "--weight-decay must be >= 0, got ", weight_decay);
  check(gamma > 0 && gamma <= 1, "--gamma must be in (0,1], got ", gamma);
  for (size_t i = 0; i < milestones.size(); ++i) {
    check(
        milestones[i] > 0,
        "--milestones must be positive epochs, got ",
        milestones[i]);
    check(
        i == 0 || milestones[i] > milestones[i - 1],
        "--milestones must be increasing");
  }
  check(warmup_steps >= 0, "--warmup-steps must be >= 0, got ", warmup_steps);
  check(
      poison_rate >= 0 && poison_rate <= 1,
      "--poison-rate must be in [0,1], got ",
      poison_rate);
  if (poison_rate > 0) {
    trigger.validate();
  }
  check(
      mode != Mode::kIcOnly || !from.empty(),
      "--from: IC-only training needs a trained CNN checkpoint");
  check(
      mode == Mode::kIcOnly || from.empty(),
      "--from is only for --mode ic-only");
  check(!out.empty(), "--out: an output directory is required");
  check(
      device == "cpu" || device == "cuda" || device.rfind("cuda:", 0) == 0,
      "--device must be cpu or cuda[:N], got '",
      device,
      "'");
  check(stop_after >= 0, "--stop-after must be >= 0, got ", stop_after);
}

void apply_recipe(TrainConfig& config) {
  // Weight decay per architecture (spec 4): 5e-4 VGG/WRN, 1e-4 otherwise.
  config.weight_decay =
      (config.arch == "vgg16" || config.arch == "wrn32_4") ? 5e-4 : 1e-4;
  config.gamma = 0.1;
  if (config.mode == Mode::kIcOnly) {
    config.epochs = 25;
    config.optimizer = OptimizerKind::kAdam;
    config.lr = 1e-3;
    config.milestones = {15};
  } else {
    config.epochs = 100;
    config.optimizer = OptimizerKind::kSgd;
    config.lr = 0.1;
    config.momentum = 0.9;
    config.milestones = {35, 60, 85};
  }
}

nlohmann::json to_json(const data::DataOptions& d) {
  return {
      {"dataset", d.name},
      {"data_dir", d.data_dir},
      {"val_size", d.val_size},
      {"train_subset", d.train_subset},
      {"seed", d.seed},
      {"synthetic_train", d.synthetic_train},
      {"synthetic_test", d.synthetic_test},
      {"synthetic_classes", d.synthetic_classes},
      {"synthetic_channels", d.synthetic_channels},
      {"synthetic_side", d.synthetic_side}};
}

data::DataOptions data_options_from_json(const nlohmann::json& d) {
  data::DataOptions o;
  try {
    o.name = d.at("dataset").get<std::string>();
    o.data_dir = d.at("data_dir").get<std::string>();
    o.val_size = d.at("val_size").get<int64_t>();
    o.train_subset = d.at("train_subset").get<int64_t>();
    o.seed = d.at("seed").get<uint64_t>();
    o.synthetic_train = d.at("synthetic_train").get<int64_t>();
    o.synthetic_test = d.at("synthetic_test").get<int64_t>();
    o.synthetic_classes = d.at("synthetic_classes").get<int64_t>();
    o.synthetic_channels = d.at("synthetic_channels").get<int64_t>();
    o.synthetic_side = d.at("synthetic_side").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail("data options: missing or malformed field (", e.what(), ")");
  }
  return o;
}

nlohmann::json to_json(const TrainConfig& c) {
  return {
      {"arch", c.arch},
      {"mode", mode_name(c.mode)},
      {"data", to_json(c.data)},
      {"from", c.from},
      {"out", c.out},
      {"epochs", c.epochs},
      {"batch_size", c.batch_size},
      {"optimizer", c.optimizer == OptimizerKind::kSgd ? "sgd" : "adam"},
      {"lr", c.lr},
      {"momentum", c.momentum},
      {"weight_decay", c.weight_decay},
      {"milestones", c.milestones},
      {"gamma", c.gamma},
      {"warmup_steps", c.warmup_steps},
      {"augment", c.augment},
      {"ic_only_clean", c.ic_only_clean},
      {"poison_rate", c.poison_rate},
      {"trigger",
       {{"x", c.trigger.x},
        {"y", c.trigger.y},
        {"size", c.trigger.size},
        {"target", c.trigger.target}}},
      {"seed", c.seed},
      {"device", c.device},
      {"channels_last", c.channels_last},
      {"eval_batch_size", c.eval_batch_size},
  };
}

TrainConfig config_from_json(const nlohmann::json& j) {
  TrainConfig c;
  try {
    c.arch = j.at("arch").get<std::string>();
    c.mode = parse_mode(j.at("mode").get<std::string>());
    c.data = data_options_from_json(j.at("data"));
    c.from = j.at("from").get<std::string>();
    c.out = j.at("out").get<std::string>();
    c.epochs = j.at("epochs").get<int64_t>();
    c.batch_size = j.at("batch_size").get<int64_t>();
    c.optimizer = j.at("optimizer").get<std::string>() == "adam" ?
        OptimizerKind::kAdam :
        OptimizerKind::kSgd;
    c.lr = j.at("lr").get<double>();
    c.momentum = j.at("momentum").get<double>();
    c.weight_decay = j.at("weight_decay").get<double>();
    c.milestones = j.at("milestones").get<std::vector<int64_t>>();
    c.gamma = j.at("gamma").get<double>();
    c.warmup_steps = j.at("warmup_steps").get<int64_t>();
    c.augment = j.at("augment").get<bool>();
    c.ic_only_clean = j.at("ic_only_clean").get<bool>();
    c.poison_rate = j.at("poison_rate").get<double>();
    const auto& t = j.at("trigger");
    c.trigger.x = t.at("x").get<int64_t>();
    c.trigger.y = t.at("y").get<int64_t>();
    c.trigger.size = t.at("size").get<int64_t>();
    c.trigger.target = t.at("target").get<int64_t>();
    c.seed = j.at("seed").get<uint64_t>();
    c.device = j.at("device").get<std::string>();
    c.channels_last = j.value("channels_last", true);
    c.eval_batch_size = j.at("eval_batch_size").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail("training config: missing or malformed field (", e.what(), ")");
  }
  return c;
}

} // namespace sdn::checkpoint
