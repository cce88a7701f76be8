#pragma once

#include "sdn/checkpoint/config.h"
#include "sdn/network/sdn_network.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
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

/// Size and CRC-32 of one file of a checkpoint (meta.json "files").
struct FileChecksum {
  int64_t bytes = 0; ///< The file's size.
  std::string crc32; ///< util/checksum.h crc32_hex of its bytes.
};

/// Where `sdn import` took a checkpoint's weights from (meta.json
/// "imported_from"; docs/interop.md#sdn-import).
struct ImportSource {
  std::string file; ///< The state_dict file, as --from named it.
  std::string format; ///< "pytorch" or "safetensors".
  std::string crc32; ///< util/checksum.h crc32_hex of the file's bytes.
  std::string name_map; ///< The --name-map file ("": none).
};

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
  /// Checksums of the checkpoint's files by name (model.pt, optimizer.pt),
  /// written by write_checkpoint and verified on reading. Optional in the
  /// file: checkpoints written before it carry none and load unverified.
  std::map<std::string, FileChecksum> files;
  /// The training split the run loaded (before poisoning): samples and the
  /// CRC-32 of its images and labels, so that a resume from a new data
  /// folder can prove it is the same data. Optional in the file.
  std::optional<int64_t> train_samples;
  std::optional<std::string> train_data_crc32;
  /// The state_dict `sdn import` read (absent for a trained checkpoint,
  /// whose epoch and metrics then describe no training: epoch 0). Optional
  /// in the file.
  std::optional<ImportSource> imported_from;

  /// The network options that rebuild this checkpoint's network.
  network::NetworkOptions network_options() const;
};

/// The sidecar as JSON: what DIR/meta.json holds.
nlohmann::json to_json(const CheckpointMeta& meta);
/// Reads a sidecar written by to_json. Throws sdn::Error naming the missing
/// or malformed key (nested keys as "config.lr"), an unsupported format, or
/// a value that cannot be meant: an input_shape that is not [C,H,W] of
/// positive sizes, fewer than 2 classes, a negative epoch, a mode that
/// contradicts with_ics (an SDN or IC-only checkpoint has ICs, a CNN none),
/// IC blocks not increasing, non-finite metrics.
CheckpointMeta checkpoint_meta_from_json(const nlohmann::json& j);

/// Reads and validates DIR/meta.json (or DIR.old/meta.json, see
/// resolve_checkpoint_dir); throws sdn::Error naming the file and the key.
CheckpointMeta read_checkpoint_meta(const std::string& dir);

/// Builds the network the checkpoint describes and loads its weights (on CPU).
/// Throws sdn::Error naming the file when it is missing, corrupt (its size
/// or CRC-32 differs from the sidecar's record) or does not match the
/// sidecar.
network::SdnNetwork load_network(const std::string& dir);

/// As load_network, and also returns the sidecar.
network::SdnNetwork load_network(const std::string& dir, CheckpointMeta& meta);

/// Writes a checkpoint atomically: into `dir.new` (meta.json last, with the
/// other files' checksums), then swapped in by renames so a reader sees
/// either the old or the new checkpoint, never a mix: `dir` -> `dir.old`,
/// `dir.new` -> `dir`, then `dir.old` is removed. A swap left unfinished by
/// a kill is completed first (recover_checkpoint_dir), so no sequence of
/// kills loses the last complete checkpoint. `optimizer_state` may be empty
/// (no resume state). Throws sdn::Error naming the file that cannot be
/// written (a full disk leaves the previous checkpoint in place).
void write_checkpoint(
    const std::string& dir,
    network::SdnNetwork& network,
    const CheckpointMeta& meta,
    const std::string& optimizer_state);

/// Writes the files of a checkpoint into the existing folder `folder`:
/// model.pt, optimizer.pt when `optimizer_state` is not empty, and last
/// meta.json (`meta` with those files' checksums), each atomically. The
/// writer of a whole folder (write_checkpoint, util/files.h
/// write_folder_atomic) makes the checkpoint appear at once. Throws
/// sdn::Error naming the file that cannot be written.
void write_checkpoint_files(
    const std::string& folder,
    network::SdnNetwork& network,
    const CheckpointMeta& meta,
    const std::string& optimizer_state);

/// The bytes of file `name` of the checkpoint in `real_dir` (a resolved
/// directory), checked against `meta.files` when the sidecar records it.
/// Throws sdn::Error naming the file when it is missing, or its size or
/// CRC-32 differs from the record.
std::string read_checkpoint_file(
    const std::string& real_dir,
    const CheckpointMeta& meta,
    const std::string& name);

/// The sidecar for `network` trained under `config` up to `epoch`, whose last
/// epoch measured `metrics` (best_val_accuracy and world_size at defaults).
CheckpointMeta make_checkpoint_meta(
    const network::SdnNetwork& network,
    const TrainConfig& config,
    int64_t epoch,
    const EpochMetrics& metrics);

/// The directory actually holding the checkpoint `dir` names: `dir`; when a
/// kill interrupted the swap, `dir.new` if it is complete (its meta.json is
/// written last), else `dir.old`. Throws when none holds one.
std::string resolve_checkpoint_dir(const std::string& dir);

/// Finishes a swap a kill interrupted, so that `dir` holds the newest
/// complete checkpoint and no `dir.new` or `dir.old` remains: a complete
/// `dir.new` without `dir` is renamed into place, else `dir.old` is; leftover
/// `.new`/`.old` folders beside a complete `dir` are removed. Returns true
/// when `dir` holds a checkpoint afterwards.
bool recover_checkpoint_dir(const std::string& dir);

} // namespace sdn::checkpoint
