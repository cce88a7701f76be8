#include "sdn/checkpoint/config.h"

#include "sdn/models/backbone.h"
#include "sdn/util/error.h"
#include "sdn/util/json_fields.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

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
  if (name == "mixed") {
    return Mode::kMixed;
  }
  fail("--mode: expected cnn, sdn, ic-only or mixed, got '", name, "'");
}

std::string mode_name(Mode mode) {
  switch (mode) {
    case Mode::kCnn:
      return "cnn";
    case Mode::kSdn:
      return "sdn";
    case Mode::kIcOnly:
      return "ic-only";
    case Mode::kMixed:
      return "mixed";
  }
  return "?";
}

LrSchedule parse_lr_schedule(const std::string& name) {
  if (name == "step") {
    return LrSchedule::kStep;
  }
  if (name == "cosine") {
    return LrSchedule::kCosine;
  }
  fail("--lr-schedule: expected step or cosine, got '", name, "'");
}

std::string lr_schedule_name(LrSchedule schedule) {
  return schedule == LrSchedule::kCosine ? "cosine" : "step";
}

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "sgd") {
    return OptimizerKind::kSgd;
  }
  if (name == "adam") {
    return OptimizerKind::kAdam;
  }
  fail("--optimizer must be sgd or adam, got '", name, "'");
}

std::string optimizer_name(OptimizerKind kind) {
  return kind == OptimizerKind::kAdam ? "adam" : "sgd";
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
      lr <= std::numeric_limits<float>::max(),
      "--lr must be at most ",
      std::numeric_limits<float>::max(),
      " (the optimiser computes in float32), got ",
      lr);
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
  const bool from_cnn = mode == Mode::kIcOnly || mode == Mode::kMixed;
  check(
      !from_cnn || !from.empty(),
      "--from: ",
      mode == Mode::kIcOnly ? "IC-only" : "mixed",
      " training needs a trained CNN checkpoint");
  check(from_cnn || from.empty(), "--from is only for --mode ic-only or mixed");
  // Beyond these the term overflows float32 (lambda T^2 x a KL) or its
  // softmaxes are one-hot (T tiny) or uniform (T huge): NaN or no signal.
  check(
      distill >= 0 && distill <= 1e6,
      "--distill must be in [0, 1e6], got ",
      distill);
  check(
      distill == 0 || mode != Mode::kCnn,
      "--distill: a CNN has no ICs to distil into (--mode sdn, ic-only or "
      "mixed)");
  check(
      distill_temperature >= 0.01 && distill_temperature <= 1000,
      "--distill-temperature must be in [0.01, 1000], got ",
      distill_temperature);
  check(!out.empty(), "--out: an output directory is required");
  check(
      device == "cpu" || device == "cuda" || device.rfind("cuda:", 0) == 0,
      "--device must be cpu or cuda[:N], got '",
      device,
      "'");
  check(stop_after >= 0, "--stop-after must be >= 0, got ", stop_after);
}

void apply_recipe(TrainConfig& config) {
  // Weight decay per architecture (docs/architecture.md#backbones): 5e-4
  // VGG/WRN, 1e-4 otherwise.
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
      {"classes", d.classes},
      {"seed", d.seed},
      {"synthetic_train", d.synthetic_train},
      {"synthetic_test", d.synthetic_test},
      {"synthetic_classes", d.synthetic_classes},
      {"synthetic_channels", d.synthetic_channels},
      {"synthetic_side", d.synthetic_side},
      {"image_side", d.image_side},
      {"image_channels", d.image_channels},
      {"mean", d.mean},
      {"std", d.std},
      {"class_names", d.class_names}};
}

data::DataOptions data_options_from_json(
    const nlohmann::json& d,
    const std::string& path) {
  using json_fields::field;
  data::DataOptions o;
  o.name = field<std::string>(d, "dataset", path);
  o.data_dir = field<std::string>(d, "data_dir", path);
  o.val_size = field<int64_t>(d, "val_size", path);
  o.train_subset = field<int64_t>(d, "train_subset", path);
  // Optional: written since --classes exists (absent: all classes).
  if (d.contains("classes")) {
    o.classes = field<std::vector<int64_t>>(d, "classes", path);
  }
  o.seed = field<uint64_t>(d, "seed", path);
  o.synthetic_train = field<int64_t>(d, "synthetic_train", path);
  o.synthetic_test = field<int64_t>(d, "synthetic_test", path);
  o.synthetic_classes = field<int64_t>(d, "synthetic_classes", path);
  o.synthetic_channels = field<int64_t>(d, "synthetic_channels", path);
  o.synthetic_side = field<int64_t>(d, "synthetic_side", path);
  // Optional: written since image folders exist (absent: the defaults, as
  // every data set before them had).
  if (d.contains("image_side")) {
    o.image_side = field<int64_t>(d, "image_side", path);
    o.image_channels = field<int64_t>(d, "image_channels", path);
    for (const char* key : {"mean", "std"}) {
      const auto values = field<std::vector<double>>(d, key, path);
      std::vector<float>& to = key[0] == 'm' ? o.mean : o.std;
      to.assign(values.begin(), values.end());
    }
    o.class_names = field<std::vector<std::string>>(d, "class_names", path);
  }
  // A checkpoint describes its image folder without the folder.
  check(
      o.name != "folder" || (!o.class_names.empty() && !o.mean.empty()),
      "key '",
      path,
      "class_names' and '",
      path,
      "mean' must be recorded for --dataset folder");
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
      {"optimizer", optimizer_name(c.optimizer)},
      {"lr", c.lr},
      {"momentum", c.momentum},
      {"weight_decay", c.weight_decay},
      {"milestones", c.milestones},
      {"gamma", c.gamma},
      {"warmup_steps", c.warmup_steps},
      {"lr_schedule", lr_schedule_name(c.lr_schedule)},
      {"distill", c.distill},
      {"distill_temperature", c.distill_temperature},
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

namespace {

// A key whose value must be one of a few names: the error names the key
// rather than the command-line option the parse function speaks of.
template <typename Parse>
auto named_value(
    const nlohmann::json& j,
    const char* key,
    const std::string& path,
    const char* expected,
    Parse parse) {
  const auto name = json_fields::field<std::string>(j, key, path);
  try {
    return parse(name);
  } catch (const Error&) {
    fail("key '", path, key, "': expected ", expected, ", got '", name, "'");
  }
}

} // namespace

TrainConfig config_from_json(const nlohmann::json& j, const std::string& path) {
  using json_fields::field;
  TrainConfig c;
  c.arch = field<std::string>(j, "arch", path);
  c.mode =
      named_value(j, "mode", path, "cnn, sdn, ic-only or mixed", parse_mode);
  c.data = data_options_from_json(
      field<nlohmann::json>(j, "data", path), path + "data.");
  c.from = field<std::string>(j, "from", path);
  c.out = field<std::string>(j, "out", path);
  c.epochs = field<int64_t>(j, "epochs", path);
  c.batch_size = field<int64_t>(j, "batch_size", path);
  c.optimizer =
      named_value(j, "optimizer", path, "sgd or adam", parse_optimizer);
  c.lr = field<double>(j, "lr", path);
  c.momentum = field<double>(j, "momentum", path);
  c.weight_decay = field<double>(j, "weight_decay", path);
  c.milestones = field<std::vector<int64_t>>(j, "milestones", path);
  c.gamma = field<double>(j, "gamma", path);
  c.warmup_steps = field<int64_t>(j, "warmup_steps", path);
  // Optional: written since the regimes of later work exist (absent: the
  // step schedule, no distillation).
  if (j.contains("lr_schedule")) {
    c.lr_schedule = named_value(
        j, "lr_schedule", path, "step or cosine", parse_lr_schedule);
    c.distill = field<double>(j, "distill", path);
    c.distill_temperature = field<double>(j, "distill_temperature", path);
  }
  c.augment = field<bool>(j, "augment", path);
  c.ic_only_clean = field<bool>(j, "ic_only_clean", path);
  c.poison_rate = field<double>(j, "poison_rate", path);
  const auto trigger = field<nlohmann::json>(j, "trigger", path);
  const std::string trigger_path = path + "trigger.";
  c.trigger.x = field<int64_t>(trigger, "x", trigger_path);
  c.trigger.y = field<int64_t>(trigger, "y", trigger_path);
  c.trigger.size = field<int64_t>(trigger, "size", trigger_path);
  c.trigger.target = field<int64_t>(trigger, "target", trigger_path);
  c.seed = field<uint64_t>(j, "seed", path);
  c.device = field<std::string>(j, "device", path);
  c.channels_last = j.contains("channels_last") ?
      field<bool>(j, "channels_last", path) :
      true;
  c.eval_batch_size = field<int64_t>(j, "eval_batch_size", path);
  return c;
}

TrainConfig resolve_train_config(
    TrainConfig base,
    const std::string& mode,
    const RecipeOverrides& overrides) {
  base.mode = parse_mode(mode);
  apply_recipe(base);
  if (overrides.epochs) {
    base.epochs = *overrides.epochs;
  }
  if (overrides.lr) {
    base.lr = *overrides.lr;
  }
  if (overrides.weight_decay) {
    base.weight_decay = *overrides.weight_decay;
  }
  if (overrides.milestones) {
    base.milestones = *overrides.milestones;
  }
  if (overrides.optimizer) {
    base.optimizer = parse_optimizer(*overrides.optimizer);
  }
  base.validate();
  return base;
}

} // namespace sdn::checkpoint
