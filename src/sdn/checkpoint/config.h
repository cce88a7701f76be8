#pragma once

#include "sdn/data/dataset.h"
#include "sdn/data/trigger.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sdn::checkpoint {

/// The paper's three ways to get a network, and the mixed regime of later
/// work (docs/training.md#modes-and-recipes).
enum class Mode {
  kCnn, ///< The plain CNN.
  kSdn, ///< Backbone and ICs jointly, weighted loss (SDN training).
  kIcOnly, ///< ICs on a frozen, trained CNN (IC-only training).
  /// Fresh ICs on a trained CNN, then everything jointly with equal loss
  /// weights (Kubaty et al., "How to Train Your Multi-Exit Model?", 2024).
  kMixed,
};

/// Parses "cnn", "sdn", "ic-only", "mixed"; throws sdn::Error naming --mode.
Mode parse_mode(const std::string& name);
/// The name parse_mode accepts.
std::string mode_name(Mode mode);

/// Which optimiser a run uses.
enum class OptimizerKind { kSgd, kAdam };

/// How the learning rate falls over a run (docs/training.md#schedules).
enum class LrSchedule {
  kStep, ///< x gamma at each milestone epoch (the paper's).
  kCosine, ///< Per optimiser step, from lr to 0 over the run (half a cosine).
};

/// Parses "step" or "cosine"; throws sdn::Error naming --lr-schedule.
LrSchedule parse_lr_schedule(const std::string& name);
/// The name parse_lr_schedule accepts.
std::string lr_schedule_name(LrSchedule schedule);

/// Parses "sgd" or "adam"; throws sdn::Error naming --optimizer.
OptimizerKind parse_optimizer(const std::string& name);
/// The name parse_optimizer accepts.
std::string optimizer_name(OptimizerKind kind);

/// Everything a training run depends on. Defaults are the paper's recipe for
/// (arch, mode), filled by apply_recipe(); every knob can be overridden.
struct TrainConfig {
  std::string arch = "resnet56";
  Mode mode = Mode::kCnn;
  data::DataOptions data;
  /// IC-only and mixed: the trained CNN checkpoint directory.
  std::string from;
  std::string out; ///< Output directory.

  int64_t epochs = 100;
  int64_t batch_size = 128;
  OptimizerKind optimizer = OptimizerKind::kSgd;
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 1e-4;
  std::vector<int64_t> milestones = {35, 60, 85};
  double gamma = 0.1;
  int64_t warmup_steps = 0; ///< Linear lr warm-up (deviation; 0 = paper).
  LrSchedule lr_schedule = LrSchedule::kStep;
  /// Self-distillation weight (modes with ICs; 0: none): the loss adds
  /// distill x the mean over ICs of KL(final exit's softmax, detached ||
  /// the IC's softmax) (train/trainer.h, training_loss).
  double distill = 0;
  /// Distillation temperature T: both softmaxes at T, the term x T^2.
  double distill_temperature = 1;
  bool augment = true;
  /// IC-only: false (the original) keeps the frozen backbone in train mode
  /// (BatchNorm statistics drift, dropout on); true runs it in eval mode.
  bool ic_only_clean = false;
  /// Poison this fraction of the training set with the trigger (backdoor).
  double poison_rate = 0.0;
  data::TriggerOptions trigger;

  uint64_t seed = 1221;
  std::string device = "cpu";
  /// Run convolutions in channels-last (NHWC) layout: same results up to
  /// rounding, markedly faster on CPU (docs/performance.md).
  bool channels_last = true;
  int64_t eval_batch_size = 256;
  /// Stop after this many epochs of this invocation (0: no limit); for tests
  /// of resume and for splitting long runs.
  int64_t stop_after = 0;

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// Sets epochs, optimiser, lr, milestones and weight decay to the paper's
/// recipe for config.arch and config.mode (docs/training.md#modes-and-recipes).
void apply_recipe(TrainConfig& config);

/// The options of `sdn train` that default to the recipe: each one the user
/// gave replaces the recipe's value (resolve_train_config).
struct RecipeOverrides {
  std::optional<int64_t> epochs; ///< --epochs
  std::optional<double> lr; ///< --lr
  std::optional<double> weight_decay; ///< --weight-decay
  std::optional<std::vector<int64_t>> milestones; ///< --milestones
  std::optional<std::string> optimizer; ///< --optimizer: "sgd" or "adam"
};

/// The config of a fresh run: `base` (every option that does not come from
/// the recipe) in mode `mode` (parse_mode), the recipe for its arch and mode
/// applied (apply_recipe), then the given overrides. Validated; throws
/// sdn::Error naming the first bad option.
TrainConfig resolve_train_config(
    TrainConfig base,
    const std::string& mode,
    const RecipeOverrides& overrides);

/// Data options as JSON (inside configs and trace metadata).
nlohmann::json to_json(const data::DataOptions& data);
/// Reads data options written by to_json ("classes" may be missing: files
/// written before --classes existed; all classes); throws sdn::Error naming the
/// missing or malformed key, prefixed by `path` (e.g. "config.data.").
data::DataOptions data_options_from_json(
    const nlohmann::json& j,
    const std::string& path = "");

/// The config as JSON (stored in checkpoints and metrics).
nlohmann::json to_json(const TrainConfig& config);
/// Reads a config written by to_json; throws sdn::Error naming the missing
/// or malformed key, prefixed by `path` (e.g. "config."). Keys newer than
/// the first checkpoints may be missing: `channels_last` (true),
/// `lr_schedule` with `distill` and `distill_temperature` (step, none).
TrainConfig config_from_json(
    const nlohmann::json& j,
    const std::string& path = "");

} // namespace sdn::checkpoint
