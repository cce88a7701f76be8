#include "sdn/checkpoint/checkpoint.h"

#include "sdn/checkpoint/json_field.h"
#include "sdn/data/dataset.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <torch/serialize.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

namespace sdn::checkpoint {

namespace fs = std::filesystem;

using detail::field;

nlohmann::json to_json(const EpochMetrics& m) {
  return {
      {"epoch", m.epoch},
      {"lr", m.lr},
      {"loss", m.loss},
      {"ic_weights", m.ic_weights},
      {"train_accuracy", m.train_accuracy},
      {"val_accuracy", m.val_accuracy},
      {"seconds", m.seconds},
      {"images_per_second", m.images_per_second}};
}

EpochMetrics epoch_metrics_from_json(
    const nlohmann::json& j,
    const std::string& path) {
  EpochMetrics m;
  m.epoch = field<int64_t>(j, "epoch", path);
  m.lr = field<double>(j, "lr", path);
  m.loss = field<double>(j, "loss", path);
  m.ic_weights = field<std::vector<double>>(j, "ic_weights", path);
  m.train_accuracy = field<std::vector<double>>(j, "train_accuracy", path);
  m.val_accuracy = field<std::vector<double>>(j, "val_accuracy", path);
  m.seconds = field<double>(j, "seconds", path);
  m.images_per_second = field<double>(j, "images_per_second", path);
  return m;
}

nlohmann::json to_json(const CheckpointMeta& m) {
  // nlohmann::json keeps keys sorted, so meta.json's bytes do not depend on
  // the order here.
  return {
      {"format", m.format},
      {"arch", m.arch},
      {"dataset", m.dataset},
      {"input_shape", m.input_shape},
      {"num_classes", m.num_classes},
      {"with_ics", m.with_ics},
      {"ic_blocks", m.ic_blocks},
      {"num_exits", m.num_exits},
      {"mode", mode_name(m.mode)},
      {"epoch", m.epoch},
      {"config", to_json(m.config)},
      {"metrics", to_json(m.metrics)},
      {"best_val_accuracy", m.best_val_accuracy},
      {"world_size", m.world_size},
  };
}

CheckpointMeta checkpoint_meta_from_json(const nlohmann::json& j) {
  CheckpointMeta m;
  m.format = field<int64_t>(j, "format", "");
  check(
      m.format == kCheckpointFormat,
      "checkpoint format ",
      m.format,
      " is not supported (expected ",
      kCheckpointFormat,
      ")");
  m.arch = field<std::string>(j, "arch", "");
  m.dataset = field<std::string>(j, "dataset", "");
  m.input_shape = field<std::vector<int64_t>>(j, "input_shape", "");
  check(
      m.input_shape.size() == 3,
      "key 'input_shape' must be [C,H,W], got ",
      m.input_shape.size(),
      " values");
  m.num_classes = field<int64_t>(j, "num_classes", "");
  m.with_ics = field<bool>(j, "with_ics", "");
  m.ic_blocks = field<std::vector<int64_t>>(j, "ic_blocks", "");
  m.num_exits = field<int64_t>(j, "num_exits", "");
  check(
      m.num_exits == static_cast<int64_t>(m.ic_blocks.size()) + 1,
      "key 'num_exits' is ",
      m.num_exits,
      ", but 'ic_blocks' lists ",
      m.ic_blocks.size(),
      " ICs (expected ICs + 1 exits)");
  const auto mode = field<std::string>(j, "mode", "");
  try {
    m.mode = parse_mode(mode);
  } catch (const Error&) {
    fail("key 'mode': expected cnn, sdn or ic-only, got '", mode, "'");
  }
  m.epoch = field<int64_t>(j, "epoch", "");
  m.config =
      config_from_json(field<nlohmann::json>(j, "config", ""), "config.");
  m.metrics = epoch_metrics_from_json(
      field<nlohmann::json>(j, "metrics", ""), "metrics.");
  if (j.contains("best_val_accuracy")) {
    m.best_val_accuracy = field<double>(j, "best_val_accuracy", "");
  }
  if (j.contains("world_size")) {
    m.world_size = field<int64_t>(j, "world_size", "");
  }
  return m;
}

network::NetworkOptions CheckpointMeta::network_options() const {
  check(
      input_shape.size() == 3,
      "checkpoint input_shape must be [C,H,W], got ",
      input_shape.size(),
      " values");
  network::NetworkOptions options;
  options.backbone.arch = arch;
  options.backbone.in_channels = input_shape[0];
  options.backbone.input_side = input_shape[1];
  options.backbone.num_classes = num_classes;
  options.with_ics = with_ics;
  return options;
}

std::string resolve_checkpoint_dir(const std::string& dir) {
  if (path_exists(dir + "/meta.json")) {
    return dir;
  }
  if (path_exists(dir + ".old/meta.json")) {
    return dir + ".old";
  }
  if (!path_exists(dir)) {
    fail(dir, ": checkpoint directory does not exist");
  }
  fail(dir, ": not a checkpoint (no meta.json)");
}

CheckpointMeta read_checkpoint_meta(const std::string& dir) {
  const std::string real = resolve_checkpoint_dir(dir);
  const std::string file = real + "/meta.json";
  const auto j = read_json(file);
  try {
    return checkpoint_meta_from_json(j);
  } catch (const Error& e) {
    fail(file, ": ", e.what());
  }
}

network::SdnNetwork load_network(const std::string& dir, CheckpointMeta& meta) {
  meta = read_checkpoint_meta(dir);
  const std::string real = resolve_checkpoint_dir(dir);
  network::SdnNetwork net(meta.network_options());
  const std::string weights = real + "/model.pt";
  check(path_exists(weights), weights, ": missing weights file");
  try {
    torch::load(net, weights);
  } catch (const c10::Error& e) {
    fail(
        weights,
        ": cannot load weights for ",
        meta.arch,
        meta.with_ics ? " SDN" : " CNN",
        " (",
        e.what_without_backtrace(),
        ")");
  }
  return net;
}

network::SdnNetwork load_network(const std::string& dir) {
  CheckpointMeta meta;
  return load_network(dir, meta);
}

CheckpointMeta make_checkpoint_meta(
    const network::SdnNetwork& network,
    const TrainConfig& config,
    int64_t epoch,
    const EpochMetrics& metrics) {
  const auto& b = network->options().backbone;
  CheckpointMeta m;
  m.arch = b.arch;
  m.dataset = config.data.name;
  m.input_shape = {b.in_channels, b.input_side, b.input_side};
  m.num_classes = b.num_classes;
  m.with_ics = network->options().with_ics;
  if (m.with_ics) {
    m.ic_blocks = network->backbone()->ic_blocks();
  }
  m.num_exits = network->num_exits();
  m.mode = config.mode;
  m.epoch = epoch;
  m.config = config;
  m.metrics = metrics;
  return m;
}

void write_checkpoint(
    const std::string& dir,
    network::SdnNetwork& network,
    const CheckpointMeta& meta,
    const std::string& optimizer_state) {
  const std::string fresh = dir + ".new";
  const std::string old = dir + ".old";
  std::error_code ec;
  fs::remove_all(fresh, ec);
  make_dirs(fresh);
  try {
    std::ostringstream weights;
    torch::save(network, weights);
    write_file_atomic(fresh + "/model.pt", weights.str());
  } catch (const c10::Error& e) {
    fail(
        fresh,
        "/model.pt: cannot write weights (",
        e.what_without_backtrace(),
        ")");
  }
  if (!optimizer_state.empty()) {
    write_file_atomic(fresh + "/optimizer.pt", optimizer_state);
  }
  write_json_atomic(fresh + "/meta.json", to_json(meta));
  // Swap: dir -> dir.old, dir.new -> dir, then drop dir.old. A reader that
  // finds no dir falls back to dir.old (resolve_checkpoint_dir).
  fs::remove_all(old, ec);
  if (fs::exists(dir)) {
    fs::rename(dir, old, ec);
    check(!ec, "cannot move ", dir, " aside: ", ec.message());
  }
  fs::rename(fresh, dir, ec);
  check(!ec, "cannot move ", fresh, " to ", dir, ": ", ec.message());
  fs::remove_all(old, ec);
}

} // namespace sdn::checkpoint
