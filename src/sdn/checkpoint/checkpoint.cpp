#include "sdn/checkpoint/checkpoint.h"

#include "sdn/data/dataset.h"
#include "sdn/util/checksum.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/json_fields.h"

#include <torch/serialize.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

namespace sdn::checkpoint {

namespace fs = std::filesystem;

using json_fields::field;

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
  nlohmann::json j = {
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
  if (!m.files.empty()) {
    nlohmann::json files = nlohmann::json::object();
    for (const auto& [name, f] : m.files) {
      files[name] = {{"bytes", f.bytes}, {"crc32", f.crc32}};
    }
    j["files"] = files;
  }
  if (m.train_samples) {
    j["train_samples"] = *m.train_samples;
  }
  if (m.train_data_crc32) {
    j["train_data_crc32"] = *m.train_data_crc32;
  }
  if (m.imported_from) {
    const ImportSource& from = *m.imported_from;
    j["imported_from"] = {
        {"file", from.file},
        {"format", from.format},
        {"crc32", from.crc32},
        {"name_map", from.name_map}};
  }
  return j;
}

namespace {

bool is_crc32_hex(const std::string& s) {
  return s.size() == 8 &&
      s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// What the values of a parsed sidecar must mean (checkpoint_meta_from_json).
void check_meaning(const CheckpointMeta& m) {
  for (size_t i = 0; i < m.input_shape.size(); ++i) {
    check(
        m.input_shape[i] > 0,
        "key 'input_shape' must hold positive sizes, got ",
        m.input_shape[i]);
  }
  check(
      m.num_classes >= 2,
      "key 'num_classes' must be >= 2, got ",
      m.num_classes);
  check(m.epoch >= 0, "key 'epoch' must be >= 0, got ", m.epoch);
  check(
      m.input_shape[1] == m.input_shape[2],
      "key 'input_shape' must describe square images, got ",
      m.input_shape[1],
      "x",
      m.input_shape[2]);
  try {
    m.network_options().backbone.validate();
  } catch (const Error& e) {
    fail("describes no network sdn can build (", e.what(), ")");
  }
  const bool needs_ics = m.mode != Mode::kCnn;
  check(
      m.with_ics == needs_ics,
      "key 'with_ics' is ",
      m.with_ics ? "true" : "false",
      ", but a ",
      mode_name(m.mode),
      " checkpoint ",
      needs_ics ? "has" : "has no",
      " internal classifiers");
  check(
      m.with_ics || m.ic_blocks.empty(),
      "key 'ic_blocks' lists ICs, but 'with_ics' is false");
  check(
      !m.with_ics || !m.ic_blocks.empty(),
      "key 'ic_blocks' is empty, but 'with_ics' is true");
  for (size_t i = 0; i < m.ic_blocks.size(); ++i) {
    check(
        m.ic_blocks[i] >= 0 && (i == 0 || m.ic_blocks[i] > m.ic_blocks[i - 1]),
        "key 'ic_blocks' must be increasing block indices, got ",
        m.ic_blocks[i],
        " at position ",
        i);
  }
  check(
      std::isfinite(m.best_val_accuracy) && m.best_val_accuracy >= -1 &&
          m.best_val_accuracy <= 100,
      "key 'best_val_accuracy' must be in [0, 100] or -1, got ",
      m.best_val_accuracy);
  check(m.world_size >= 1, "key 'world_size' must be >= 1, got ", m.world_size);
  const auto finite_all = [](const std::vector<double>& v) {
    for (double x : v) {
      if (!std::isfinite(x)) {
        return false;
      }
    }
    return true;
  };
  const EpochMetrics& e = m.metrics;
  check(
      std::isfinite(e.lr) && std::isfinite(e.seconds) &&
          std::isfinite(e.images_per_second) && finite_all(e.ic_weights) &&
          finite_all(e.train_accuracy) && finite_all(e.val_accuracy),
      "key 'metrics' holds a non-finite number");
  for (const auto& [name, f] : m.files) {
    check(
        f.bytes >= 0 && is_crc32_hex(f.crc32),
        "key 'files.",
        name,
        "' must hold bytes >= 0 and 8 hex digits of crc32");
  }
  if (m.train_samples) {
    check(
        *m.train_samples > 0,
        "key 'train_samples' must be > 0, got ",
        *m.train_samples);
  }
  if (m.train_data_crc32) {
    check(
        is_crc32_hex(*m.train_data_crc32),
        "key 'train_data_crc32' must be 8 hex digits");
  }
  if (m.imported_from) {
    check(
        m.imported_from->format == "pytorch" ||
            m.imported_from->format == "safetensors",
        "key 'imported_from.format' must be pytorch or safetensors, got '",
        m.imported_from->format,
        "'");
    check(
        is_crc32_hex(m.imported_from->crc32),
        "key 'imported_from.crc32' must be 8 hex digits");
  }
  // The training configuration is what a resumed run continues with.
  try {
    m.config.validate();
  } catch (const Error& e) {
    fail("key 'config' is not a valid training configuration (", e.what(), ")");
  }
  check(
      m.config.mode == m.mode,
      "key 'config.mode' is ",
      mode_name(m.config.mode),
      ", but 'mode' is ",
      mode_name(m.mode));
  check(
      m.config.arch == m.arch,
      "key 'config.arch' is ",
      m.config.arch,
      ", but 'arch' is ",
      m.arch);
  // The data the run trained on must give the network's inputs and classes
  // (synthetic data is described by its options; --classes keeps a subset).
  const data::DatasetInfo info = data::dataset_info(m.config.data);
  const std::vector<int64_t> shape = {info.channels, info.side, info.side};
  check(
      info.num_classes == m.num_classes && shape == m.input_shape,
      "key 'config.data' describes ",
      info.name,
      " data of ",
      info.num_classes,
      " classes and ",
      info.channels,
      "x",
      info.side,
      "x",
      info.side,
      " images, but 'num_classes' and 'input_shape' say ",
      m.num_classes,
      " and ",
      c10::IntArrayRef(m.input_shape));
}

} // namespace

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
  if (j.contains("files")) {
    const auto files = field<nlohmann::json>(j, "files", "");
    check(files.is_object(), "key 'files' must be an object");
    for (const auto& [name, f] : files.items()) {
      const std::string prefix = "files." + name + ".";
      m.files[name] = {
          field<int64_t>(f, "bytes", prefix),
          field<std::string>(f, "crc32", prefix)};
    }
  }
  if (j.contains("train_samples")) {
    m.train_samples = field<int64_t>(j, "train_samples", "");
  }
  if (j.contains("train_data_crc32")) {
    m.train_data_crc32 = field<std::string>(j, "train_data_crc32", "");
  }
  if (j.contains("imported_from")) {
    const auto from = field<nlohmann::json>(j, "imported_from", "");
    m.imported_from = ImportSource{
        field<std::string>(from, "file", "imported_from."),
        field<std::string>(from, "format", "imported_from."),
        field<std::string>(from, "crc32", "imported_from."),
        field<std::string>(from, "name_map", "imported_from.")};
  }
  check_meaning(m);
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
  // A kill between the two renames of write_checkpoint: dir.new is the
  // newer checkpoint when complete (meta.json is its last file).
  if (path_exists(dir + ".new/meta.json")) {
    return dir + ".new";
  }
  if (path_exists(dir + ".old/meta.json")) {
    return dir + ".old";
  }
  if (!path_exists(dir)) {
    fail(dir, ": checkpoint directory does not exist");
  }
  check(
      std::filesystem::is_directory(dir),
      dir,
      ": not a checkpoint directory (a checkpoint is a folder holding "
      "meta.json and model.pt)");
  fail(dir, ": not a checkpoint (no meta.json)");
}

bool recover_checkpoint_dir(const std::string& dir) {
  const std::string fresh = dir + ".new";
  const std::string old = dir + ".old";
  std::error_code ec;
  if (!path_exists(dir + "/meta.json")) {
    for (const std::string& candidate : {fresh, old}) {
      if (path_exists(candidate + "/meta.json")) {
        fs::remove_all(dir, ec);
        fs::rename(candidate, dir, ec);
        check(!ec, "cannot move ", candidate, " to ", dir, ": ", ec.message());
        break;
      }
    }
  }
  if (!path_exists(dir + "/meta.json")) {
    return false;
  }
  for (const std::string& leftover : {fresh, old}) {
    fs::remove_all(leftover, ec);
    check(!ec, "cannot remove ", leftover, ": ", ec.message());
  }
  return true;
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

std::string read_checkpoint_file(
    const std::string& real_dir,
    const CheckpointMeta& meta,
    const std::string& name) {
  const std::string path = real_dir + "/" + name;
  check(path_exists(path), path, ": missing file of the checkpoint");
  std::string bytes = read_file(path);
  const auto record = meta.files.find(name);
  if (record != meta.files.end()) {
    check(
        static_cast<int64_t>(bytes.size()) == record->second.bytes,
        path,
        ": corrupt: ",
        bytes.size(),
        " bytes, but meta.json records ",
        record->second.bytes);
    const std::string crc = crc32_hex(bytes);
    check(
        crc == record->second.crc32,
        path,
        ": corrupt: CRC-32 ",
        crc,
        ", but meta.json records ",
        record->second.crc32);
  }
  return bytes;
}

namespace {

// The shape of every parameter and buffer, by name.
std::map<std::string, std::vector<int64_t>> tensor_shapes(
    const network::SdnNetwork& net) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : net->named_parameters()) {
    shapes[p.key()] = p.value().sizes().vec();
  }
  for (const auto& b : net->named_buffers()) {
    shapes[b.key()] = b.value().sizes().vec();
  }
  return shapes;
}

} // namespace

network::SdnNetwork load_network(const std::string& dir, CheckpointMeta& meta) {
  meta = read_checkpoint_meta(dir);
  const std::string real = resolve_checkpoint_dir(dir);
  const std::string meta_file = real + "/meta.json";
  // read_checkpoint_meta checked that the sidecar describes a network;
  // it must be the one whose ICs it lists and whose weights model.pt holds.
  network::SdnNetwork net(meta.network_options());
  if (meta.with_ics) {
    const auto built = net->backbone()->ic_blocks();
    check(
        built == meta.ic_blocks,
        meta_file,
        ": key 'ic_blocks' lists ",
        c10::IntArrayRef(meta.ic_blocks),
        ", but a ",
        meta.arch,
        " SDN has its ICs after blocks ",
        c10::IntArrayRef(built));
  }
  const std::string weights = real + "/model.pt";
  const auto expected = tensor_shapes(net);
  std::istringstream bytes(read_checkpoint_file(real, meta, "model.pt"));
  try {
    torch::load(net, bytes);
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
  // LibTorch replaces each tensor with the file's without comparing shapes.
  for (const auto& [name, shape] : tensor_shapes(net)) {
    const auto want = expected.find(name);
    check(
        want != expected.end() && want->second == shape,
        weights,
        ": tensor '",
        name,
        "' has shape ",
        c10::IntArrayRef(shape),
        ", but ",
        meta_file,
        " describes a network where it is ",
        want == expected.end() ? c10::IntArrayRef() :
                                 c10::IntArrayRef(want->second),
        " (num_classes ",
        meta.num_classes,
        ", input_shape ",
        c10::IntArrayRef(meta.input_shape),
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

void write_checkpoint_files(
    const std::string& folder,
    network::SdnNetwork& network,
    const CheckpointMeta& meta,
    const std::string& optimizer_state) {
  CheckpointMeta sidecar = meta;
  sidecar.files.clear();
  const auto write_part = [&](const std::string& name, const std::string& b) {
    write_file_atomic(folder + "/" + name, b);
    sidecar.files[name] = {static_cast<int64_t>(b.size()), crc32_hex(b)};
  };
  std::ostringstream weights;
  try {
    torch::save(network, weights);
  } catch (const c10::Error& e) {
    fail(
        folder,
        "/model.pt: cannot serialise the weights (",
        e.what_without_backtrace(),
        ")");
  }
  write_part("model.pt", weights.str());
  if (!optimizer_state.empty()) {
    write_part("optimizer.pt", optimizer_state);
  }
  write_json_atomic(folder + "/meta.json", to_json(sidecar));
}

void write_checkpoint(
    const std::string& dir,
    network::SdnNetwork& network,
    const CheckpointMeta& meta,
    const std::string& optimizer_state) {
  const std::string fresh = dir + ".new";
  const std::string old = dir + ".old";
  // Finish what a kill interrupted before touching anything: the newest
  // complete checkpoint becomes `dir`, and only then is any leftover removed.
  recover_checkpoint_dir(dir);
  std::error_code ec;
  fs::remove_all(fresh, ec);
  make_dirs(fresh);
  try {
    // meta.json is written last: a dir.new with it is complete
    // (resolve_checkpoint_dir).
    write_checkpoint_files(fresh, network, meta, optimizer_state);
  } catch (...) {
    // A failed write (a full disk) leaves the previous checkpoint alone and
    // no half-written dir.new behind.
    fs::remove_all(fresh, ec);
    throw;
  }
  // Swap: dir -> dir.old, dir.new -> dir, and only then drop dir.old. A kill
  // between the renames leaves dir.old and a complete dir.new, which readers
  // and the next write_checkpoint take (recover_checkpoint_dir).
  if (path_exists(dir)) {
    fs::rename(dir, old, ec);
    check(!ec, "cannot move ", dir, " aside: ", ec.message());
  }
  fs::rename(fresh, dir, ec);
  check(!ec, "cannot move ", fresh, " to ", dir, ": ", ec.message());
  fs::remove_all(old, ec);
}

} // namespace sdn::checkpoint
