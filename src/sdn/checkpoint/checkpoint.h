#pragma once

#include "sdn/checkpoint/config.h"
#include "sdn/network/sdn_network.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::checkpoint {

/// What one training epoch measured: one line of a run's metrics.jsonl and
/// the `metrics` of the checkpoint written after it.
struct EpochMetrics {
  int64_t epoch = 0;
  double lr = 0;
  double loss = 0; ///< Mean training loss over the epoch's batches.
  std::vector<double> ic_weights; ///< tau_i (SDN training only).
  std::vector<double> train_accuracy; ///< Per exit, %, augmented batches.
  std::vector<double> val_accuracy; ///< Per exit, %; empty without val split.
  double seconds = 0; ///< Training time of the epoch (without validation).
  double images_per_second = 0;
};

/// JSON of one epoch's metrics (keys as the field names).
nlohmann::json to_json(const EpochMetrics& m);
/// Reads metrics written by to_json; throws sdn::Error naming the missing or
/// malformed key, prefixed by `path` (e.g. "metrics.").
EpochMetrics epoch_metrics_from_json(
    const nlohmann::json& j,
    const std::string& path = "");

/// The layout version of checkpoints; bumped when it changes incompatibly.
constexpr int64_t kCheckpointFormat = 1;

/// The self-describing sidecar of a checkpoint (DIR/meta.json). A checkpoint
/// directory holds `model.pt` (weights and buffers), `meta.json` and, for
/// resuming, `optimizer.pt`. The JSON keys are the field names.
struct CheckpointMeta {
  int64_t format = kCheckpointFormat; ///< Must equal kCheckpointFormat.
  std::string arch; ///< Backbone name (models::BackboneOptions::arch).
  std::string dataset; ///< Data set the network was trained on.
  std::vector<int64_t> input_shape; ///< [C, H, W] of one input image.
  int64_t num_classes = 0;
  bool with_ics = false; ///< The network has internal classifiers.
  std::vector<int64_t> ic_blocks; ///< Blocks the ICs follow (empty: none).
  int64_t num_exits = 0; ///< ICs plus the final classifier.
  Mode mode = Mode::kCnn; ///< How it was trained.
  int64_t epoch = 0; ///< Epochs trained.
  TrainConfig config; ///< The config of the run (without stop_after).
  EpochMetrics metrics; ///< What the last epoch measured.
  /// Best final-exit validation accuracy so far (-1: none yet or no
  /// validation split). Optional in the file (default -1).
  double best_val_accuracy = -1;
  /// Data-parallel processes that trained the last epoch. Optional in the
  /// file (default 1).
  int64_t world_size = 1;

  /// The network options that rebuild this checkpoint's network.
  network::NetworkOptions network_options() const;
};

/// The sidecar as JSON: what DIR/meta.json holds.
nlohmann::json to_json(const CheckpointMeta& meta);
/// Reads a sidecar written by to_json. Throws sdn::Error naming the missing
/// or malformed key (nested keys as "config.lr"), an unsupported format or an
/// input_shape that is not [C,H,W].
CheckpointMeta checkpoint_meta_from_json(const nlohmann::json& j);

/// Reads and validates DIR/meta.json (or DIR.old/meta.json, see
/// resolve_checkpoint_dir); throws sdn::Error naming the file and the key.
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
    const CheckpointMeta& meta,
    const std::string& optimizer_state);

/// The sidecar for `network` trained under `config` up to `epoch`, whose last
/// epoch measured `metrics` (best_val_accuracy and world_size at defaults).
CheckpointMeta make_checkpoint_meta(
    const network::SdnNetwork& network,
    const TrainConfig& config,
    int64_t epoch,
    const EpochMetrics& metrics);

/// The directory actually holding the checkpoint `dir` names: `dir`, or
/// `dir.old` when a crash interrupted the swap. Throws when neither exists.
std::string resolve_checkpoint_dir(const std::string& dir);

} // namespace sdn::checkpoint
