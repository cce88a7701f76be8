#include "sdn/checkpoint/checkpoint.h"

#include "sdn/data/dataset.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <torch/serialize.h>

#include <filesystem>
#include <sstream>

namespace sdn::checkpoint {

namespace fs = std::filesystem;

namespace {
// Bumped when the layout of a checkpoint changes incompatibly.
constexpr int kFormat = 1;

template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& file) {
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(file, ": missing or malformed field '", key, "'");
  }
}
} // namespace

std::string CheckpointMeta::arch() const {
  return json.at("arch").get<std::string>();
}
std::string CheckpointMeta::dataset() const {
  return json.at("dataset").get<std::string>();
}
bool CheckpointMeta::with_ics() const {
  return json.at("with_ics").get<bool>();
}
Mode CheckpointMeta::mode() const {
  return parse_mode(json.at("mode").get<std::string>());
}
int64_t CheckpointMeta::epoch() const {
  return json.at("epoch").get<int64_t>();
}
TrainConfig CheckpointMeta::config() const {
  return config_from_json(json.at("config"));
}

network::NetworkOptions CheckpointMeta::network_options() const {
  network::NetworkOptions options;
  const auto shape = json.at("input_shape").get<std::vector<int64_t>>();
  options.backbone.arch = arch();
  options.backbone.in_channels = shape.at(0);
  options.backbone.input_side = shape.at(1);
  options.backbone.num_classes = json.at("num_classes").get<int64_t>();
  options.with_ics = with_ics();
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
  CheckpointMeta meta{read_json(file)};
  const auto& j = meta.json;
  check(j.is_object(), file, ": expected a JSON object");
  const int format = field<int>(j, "format", file);
  check(
      format == kFormat,
      file,
      ": checkpoint format ",
      format,
      " is not supported (expected ",
      kFormat,
      ")");
  field<std::string>(j, "arch", file);
  field<std::string>(j, "dataset", file);
  const auto shape = field<std::vector<int64_t>>(j, "input_shape", file);
  check(shape.size() == 3, file, ": input_shape must be [C,H,W]");
  field<int64_t>(j, "num_classes", file);
  field<bool>(j, "with_ics", file);
  field<int64_t>(j, "epoch", file);
  parse_mode(field<std::string>(j, "mode", file));
  check(j.contains("config"), file, ": missing field 'config'");
  return meta;
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
        meta.arch(),
        meta.with_ics() ? " SDN" : " CNN",
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

nlohmann::json make_checkpoint_meta(
    const network::SdnNetwork& network,
    const TrainConfig& config,
    int64_t epoch,
    const nlohmann::json& metrics) {
  const auto& b = network->options().backbone;
  std::vector<int64_t> ic_blocks;
  if (network->options().with_ics) {
    ic_blocks = network->backbone()->ic_blocks();
  }
  return {
      {"format", kFormat},
      {"arch", b.arch},
      {"dataset", config.data.name},
      {"input_shape", {b.in_channels, b.input_side, b.input_side}},
      {"num_classes", b.num_classes},
      {"with_ics", network->options().with_ics},
      {"ic_blocks", ic_blocks},
      {"num_exits", network->num_exits()},
      {"mode", mode_name(config.mode)},
      {"epoch", epoch},
      {"config", to_json(config)},
      {"metrics", metrics},
  };
}

void write_checkpoint(
    const std::string& dir,
    network::SdnNetwork& network,
    const nlohmann::json& meta,
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
  write_json_atomic(fresh + "/meta.json", meta);
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
