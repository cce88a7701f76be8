#pragma once

// What `sdn train` and `sdn paper` show while training: the per-epoch table
// on stdout and progress bars on stderr, as a training callback.

#include "sdn/train/trainer.h"
#include "sdn/util/progress.h"

#include <cstdio>
#include <memory>
#include <string>

namespace sdn::app {

/// Which parts of the console output to show.
struct TrainConsoleOptions {
  bool table = true; ///< The per-epoch table (header, then one row an epoch).
  bool progress = true; ///< Progress bars of training and validation.
  std::FILE* table_out = stdout; ///< Where the table goes (tests: a file).

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// The table's header line (with newline).
std::string train_table_header();
/// The table's row for one epoch (with newline): epoch, lr, loss, train and
/// validation accuracy per exit, seconds, images/s and, for SDN training,
/// the IC weights.
std::string train_table_row(const train::EpochMetrics& m);

/// Prints the table and draws the progress bars of a training run. The
/// trainer calls it on rank 0 only, so the other ranks print nothing.
class TrainConsole : public train::TrainCallback {
 public:
  /// Validates `options`.
  explicit TrainConsole(TrainConsoleOptions options = {});
  ~TrainConsole() override;

  /// Prints the header.
  void on_start(const train::TrainStart& start) override;
  /// Prints the header.
  void on_resume(const train::TrainStart& start) override;
  /// Starts a bar: "epoch E/N" for training, "validate" for validation.
  void on_phase_begin(const train::PhaseProgress& progress) override;
  /// Advances the bar (training: with the batch's loss).
  void on_progress(const train::PhaseProgress& progress) override;
  /// Finishes the bar (training: with the epoch's mean loss).
  void on_phase_end(const train::PhaseProgress& progress) override;
  /// Prints the epoch's row.
  void on_epoch_end(const train::EpochMetrics& metrics) override;

 private:
  void print(const std::string& text);

  TrainConsoleOptions options_;
  std::unique_ptr<Progress> bar_;
  int64_t done_ = 0; // the bar's count
};

/// A TrainConsole for `sdn train` and `sdn paper`.
std::shared_ptr<train::TrainCallback> make_train_console(
    TrainConsoleOptions options = {});

} // namespace sdn::app
