#pragma once

// A training run's output directory:
//   DIR/metrics.jsonl  one EpochMetrics per line, every epoch so far
//   DIR/last           the checkpoint after the last epoch, with optimizer.pt
//   DIR/best           the checkpoint of the best validation accuracy (every
//                      epoch's when there is no validation split)
// Checkpoints are swapped in by renames (write_checkpoint): a kill leaves
// `last.new` and/or `last.old` beside or in place of `last`; reading falls
// back to the newest complete one and resuming first completes the swap.
// `best` is written before `last`, so a kill never leaves `last` claiming a
// best that `best` does not hold (docs/reliability.md).

#include "sdn/checkpoint/checkpoint.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::checkpoint {

/// True when `dir` holds a resumable run: DIR/last, DIR/last.new or
/// DIR/last.old has a meta.json.
bool has_run(const std::string& dir);

/// The entries a run directory holds (last, best, metrics.jsonl and the
/// checkpoints' .new/.old while they are swapped), for
/// check_output_folder: a fresh run goes only into a new or empty folder or
/// one that holds nothing but these (an earlier run's leftovers).
const std::vector<std::string>& run_entries();

/// Removes what a killed writer left in run directory `dir`: temporaries of
/// its entries (metrics.jsonl.tmp.N). Only while holding the run's lock.
void remove_run_temporaries(const std::string& dir);

/// What a run directory's last checkpoint holds for continuing the run.
struct ResumeState {
  network::SdnNetwork network{nullptr}; ///< Weights and buffers, on CPU.
  CheckpointMeta meta; ///< Its sidecar (config, epoch, best accuracy).
  std::string optimizer_file; ///< The optimiser state's path (for errors).
  std::string optimizer_state; ///< The bytes of optimizer_file.
};

/// Completes an interrupted swap of DIR/last and DIR/best
/// (recover_checkpoint_dir), then reads DIR/last. Throws sdn::Error naming
/// the file when the checkpoint is missing, bad or corrupt (checksums), or
/// has no optimizer.pt (a `best` checkpoint copied into place cannot be
/// resumed exactly).
ResumeState read_resume_state(const std::string& dir);

/// Writes a run directory as training goes: after every epoch the `best`
/// checkpoint (when the epoch is the best so far), the `last` one, then the
/// epoch's line of metrics.jsonl. Keeps the best validation accuracy.
class RunDirectory {
 public:
  /// A directory for a fresh run (nothing is created yet).
  explicit RunDirectory(std::string dir);

  /// Continues the run in `dir` after `meta`'s epoch: keeps the lines of
  /// metrics.jsonl before that epoch's successor (dropping those of epochs
  /// trained after the checkpoint and unreadable lines) and the best
  /// validation accuracy the checkpoint recorded. When the checkpoint's own
  /// epoch has no line (the run stopped between checkpoint and metrics), the
  /// line is restored from the sidecar's metrics and the file rewritten;
  /// throws sdn::Error naming the file when that write fails.
  static RunDirectory resume(
      const std::string& dir,
      const CheckpointMeta& meta);

  /// The directory.
  const std::string& dir() const {
    return dir_;
  }
  /// DIR/last.
  std::string last() const;
  /// DIR/best.
  std::string best() const;
  /// DIR/metrics.jsonl.
  std::string metrics_file() const;

  /// Counts `m` towards the best validation accuracy; returns true when its
  /// checkpoint is the new best: a strictly higher final-exit accuracy, or
  /// any epoch when there is no validation split.
  bool update_best(const EpochMetrics& m);
  /// The best final-exit validation accuracy so far (-1: none).
  double best_val_accuracy() const {
    return best_val_;
  }

  /// Rewrites metrics.jsonl atomically with `m` as its last line (creating
  /// the directory).
  void append_metrics(const EpochMetrics& m);
  /// Rewrites metrics.jsonl atomically from metrics_lines().
  void write_metrics() const;
  /// Writes `network` as DIR/best (without optimizer state) when `is_best`,
  /// then as DIR/last with `optimizer_state`.
  void write_checkpoints(
      network::SdnNetwork& network,
      const CheckpointMeta& meta,
      const std::string& optimizer_state,
      bool is_best);

  /// The lines of metrics.jsonl so far (as written, without newlines).
  const std::vector<std::string>& metrics_lines() const {
    return metrics_lines_;
  }

 private:
  std::string dir_;
  double best_val_ = -1.0;
  std::vector<std::string> metrics_lines_;
};

} // namespace sdn::checkpoint
