#pragma once

#include "sdn/checkpoint/config.h"
#include "sdn/network/sdn_network.h"

#include <nlohmann/json.hpp>

#include <string>

namespace sdn::checkpoint {

/// A checkpoint directory holds `model.pt` (weights and buffers), `meta.json`
/// (the self-describing sidecar) and, for resuming, `optimizer.pt`.
/// meta.json keys: format, arch, dataset, input_shape [C,H,W], num_classes,
/// with_ics, ic_blocks, num_exits, mode, epoch, config, metrics.
struct CheckpointMeta {
  nlohmann::json json; ///< The whole sidecar.
  std::string arch() const;
  std::string dataset() const;
  bool with_ics() const;
  Mode mode() const;
  int64_t epoch() const;
  TrainConfig config() const;
  /// The network options that rebuild this checkpoint's network.
  network::NetworkOptions network_options() const;
};

/// Reads and validates DIR/meta.json; throws sdn::Error naming the file.
CheckpointMeta read_checkpoint_meta(const std::string& dir);

/// Builds the network the checkpoint describes and loads its weights (on CPU).
/// Throws sdn::Error naming the file when it is missing, corrupt or does not
/// match the sidecar.
network::SdnNetwork load_network(const std::string& dir);

/// As load_network, and also returns the sidecar.
network::SdnNetwork load_network(const std::string& dir, CheckpointMeta& meta);

/// Writes a checkpoint atomically: into `dir.new`, then swapped in by renames
/// so a reader sees either the old or the new checkpoint, never a mix.
/// `optimizer_state` may be empty (no resume state).
void write_checkpoint(
    const std::string& dir,
    network::SdnNetwork& network,
    const nlohmann::json& meta,
    const std::string& optimizer_state);

/// Builds the sidecar for `network` trained under `config` up to `epoch`.
nlohmann::json make_checkpoint_meta(
    const network::SdnNetwork& network,
    const TrainConfig& config,
    int64_t epoch,
    const nlohmann::json& metrics);

/// The directory actually holding the checkpoint `dir` names: `dir`, or
/// `dir.old` when a crash interrupted the swap. Throws when neither exists.
std::string resolve_checkpoint_dir(const std::string& dir);

} // namespace sdn::checkpoint
