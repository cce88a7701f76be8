#pragma once

#include "sdn/checkpoint/checkpoint.h"
#include "sdn/checkpoint/config.h"
#include "sdn/network/sdn_network.h"
#include "sdn/train/distributed.h"

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sdn::train {

/// What one epoch measured; one line of DIR/metrics.jsonl.
using EpochMetrics = checkpoint::EpochMetrics;

/// How a run ended.
struct TrainResult {
  std::string last_dir; ///< DIR/last.
  std::string best_dir; ///< DIR/best.
  int64_t epochs_done = 0; ///< Epochs completed so far (all invocations).
  bool finished = false; ///< All configured epochs done.
  std::vector<EpochMetrics> history; ///< The epochs of this invocation.
};

/// What a run is about to do; given to TrainCallback::on_start / on_resume.
struct TrainStart {
  checkpoint::TrainConfig
      config; ///< The run's config (resumed: the saved one).
  int64_t first_epoch = 1; ///< The first epoch this invocation trains.
  int64_t world_size = 1; ///< Data-parallel processes.
  /// Resumed: what this invocation changed of the saved config, one line
  /// each ("epochs: 1 -> 3"); empty for a fresh run.
  std::vector<std::string> changes;
};

/// The two phases of an epoch.
enum class Phase {
  kTrain, ///< Steps over the training split.
  kValidate, ///< The evaluation of the validation split.
};

/// Where a phase stands; given to the phase callbacks.
struct PhaseProgress {
  Phase phase = Phase::kTrain;
  int64_t epoch = 0; ///< The epoch, from 1.
  int64_t epochs = 0; ///< The run's configured epochs.
  int64_t done = 0; ///< Images done (training: over all ranks).
  int64_t total = 0; ///< Images of the phase (training: over all ranks).
  /// kTrain: on_progress: the last batch's loss (mean over ranks);
  /// on_phase_end: the epoch's mean loss. NaN for kValidate.
  double loss = 0;
};

/// Observes a training run. Every method does nothing by default; override
/// what you need. Called on rank 0 only, in this order per invocation:
/// on_start or on_resume; per epoch on_phase_begin, on_progress per batch and
/// on_phase_end for kTrain, then for kValidate when there is a validation
/// split, then on_epoch_end after the epoch's checkpoint is written; at last
/// on_finish. A non-finite loss ends the kTrain phase (on_phase_end with that
/// loss) before training throws.
class TrainCallback {
 public:
  virtual ~TrainCallback() = default;
  /// A fresh run is about to train its first epoch.
  virtual void on_start(const TrainStart& /*start*/) {}
  /// A resumed run is about to continue with start.first_epoch.
  virtual void on_resume(const TrainStart& /*start*/) {}
  /// A phase begins (done == 0).
  virtual void on_phase_begin(const PhaseProgress& /*progress*/) {}
  /// A batch of the phase is done.
  virtual void on_progress(const PhaseProgress& /*progress*/) {}
  /// The phase is done.
  virtual void on_phase_end(const PhaseProgress& /*progress*/) {}
  /// An epoch is done: its metrics are in metrics.jsonl and its checkpoint
  /// in DIR/last.
  virtual void on_epoch_end(const EpochMetrics& /*metrics*/) {}
  /// This invocation trained its last epoch.
  virtual void on_finish(const TrainResult& /*result*/) {}
};

/// The callbacks a run reports to, in order.
using TrainCallbacks = std::vector<std::shared_ptr<TrainCallback>>;

/// How to continue a run.
struct ResumeOptions {
  std::string out_dir; ///< The run's directory (holds `last`).
  /// Stop after this many epochs of this invocation (0: train to the end).
  int64_t stop_after = 0;
  /// Device of this invocation (cpu, cuda[:N]); may differ from the
  /// original run's. Unset: the run's own.
  std::optional<std::string> device;
  /// More epochs than the run was configured for (>= the epochs trained;
  /// the learning-rate milestones stay as they were). Unset: as saved.
  std::optional<int64_t> epochs;
  /// A new folder for the same data (a moved data set): the training
  /// split it loads must match what the run recorded (sizes and, for runs
  /// that recorded it, the content checksum). Unset: as saved.
  std::optional<std::string> data_dir;
  /// Validation batch size of this invocation (speed only). Unset: as saved.
  std::optional<int64_t> eval_batch_size;

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// One training run (cnn, sdn or ic-only; docs/training.md#modes-and-recipes):
/// data, poisoning, the network, the optimiser, data-parallel synchronisation,
/// epochs with validation, checkpoints and metrics in the run directory
/// (checkpoint::RunDirectory). Construction prepares everything; train()
/// runs the epochs. With `distributed` of world size N, this process is one
/// of N data-parallel ranks started alike (batch_size is per rank); rank 0
/// alone writes the run directory and calls the callbacks.
class Trainer {
 public:
  /// Prepares a fresh run of `config` into config.out. Validates the
  /// options, refuses an out directory that already holds a run, joins the
  /// other ranks, loads the data and builds the network (seeded by
  /// config.seed; ic-only: with the backbone of the CNN checkpoint
  /// config.from) and the optimiser. Throws sdn::Error naming what is wrong.
  explicit Trainer(
      const checkpoint::TrainConfig& config,
      const DistributedOptions& distributed = {});

  /// Prepares to continue the run in options.out_dir exactly where its last
  /// checkpoint stopped (same lr, IC weights, optimiser state and random
  /// streams). The world size may differ from the original run's (the run is
  /// then no longer bit-identical to an uninterrupted one).
  static Trainer resume(
      const ResumeOptions& options,
      const DistributedOptions& distributed = {});

  ~Trainer();
  Trainer(Trainer&&) noexcept;
  Trainer& operator=(Trainer&&) noexcept;

  /// Adds a callback (called after those added before it).
  void add_callback(std::shared_ptr<TrainCallback> callback);

  /// Trains from first_epoch() to config().epochs, or config().stop_after
  /// epochs; writes metrics.jsonl, DIR/last and DIR/best after every epoch.
  /// Returns once every rank is done. Throws sdn::Error when the loss is not
  /// finite or a collective fails.
  TrainResult train();

  /// The run's config (resumed: the saved one with this invocation's device,
  /// stop_after and out directory).
  const checkpoint::TrainConfig& config() const;
  /// The first epoch train() trains (1 for a fresh run).
  int64_t first_epoch() const;
  /// True when the run continues a checkpoint.
  bool resumed() const;
  /// The network being trained (on the training device).
  network::SdnNetwork network() const;

 private:
  struct State;
  explicit Trainer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// Trains a fresh run: Trainer(config, distributed) with `callbacks`, then
/// train().
TrainResult run_training(
    const checkpoint::TrainConfig& config,
    const TrainCallbacks& callbacks = {},
    const DistributedOptions& distributed = {});

/// Continues a run: Trainer::resume(options, distributed) with `callbacks`,
/// then train().
TrainResult resume_training(
    const ResumeOptions& options,
    const TrainCallbacks& callbacks = {},
    const DistributedOptions& distributed = {});

/// Self-distillation of the ICs from the final exit (TrainConfig::distill).
struct Distillation {
  double weight = 0; ///< lambda; 0: no term.
  double temperature = 1; ///< T > 0.
};

/// The training loss of `mode` (docs/training.md#modes-and-recipes) from every
/// exit's logits (each [N, K] float, final last) and int64 [N] labels:
/// cnn: CE(final); sdn: CE(final) + sum_i tau_i CE(IC i); ic-only: sum_i
/// CE(IC i); mixed: the mean over all exits of CE(exit) (Kubaty et al.
/// 2024, equal weights). `tau` has one weight per IC (sdn only). With a
/// distillation weight lambda > 0 (modes with ICs), plus lambda T^2 times
/// the mean over ICs of KL(softmax(final / T) || softmax(IC / T)), batch
/// mean, the final exit's side detached: the usual knowledge-distillation
/// term (Hinton et al. 2015; for multi-exit networks, e.g. Phuong and
/// Lampert 2019). It differs from the cross-entropy to the final exit's
/// softmax only by that softmax's entropy, a constant for the ICs, so its
/// gradients are the same and it is 0 when an IC equals the final exit.
/// Throws sdn::Error for no outputs, a tau of the wrong length, or ic-only
/// or mixed without ICs.
torch::Tensor training_loss(
    checkpoint::Mode mode,
    const std::vector<torch::Tensor>& outputs,
    const torch::Tensor& labels,
    const std::vector<double>& tau,
    const Distillation& distill = {});

/// Drops every gradient the optimiser holds (PyTorch's
/// zero_grad(set_to_none=True)): backward then stores fresh gradients instead
/// of adding them to zeroed ones. The optimisers skip undefined gradients, so
/// updates are the same as after zero_grad().
void clear_gradients(torch::optim::Optimizer& optimizer);

/// Throws sdn::Error "epoch E: weight 'NAME' is not finite (training
/// diverged); no checkpoint was written for this epoch, the last good one
/// is OUT/last (...)" when a parameter of `network` holds NaN or Inf: a step
/// after the last finite loss can still break the weights, and such a
/// checkpoint would only fail later, at evaluation. The trainer calls it
/// before every checkpoint.
void check_finite_weights(
    network::SdnNetwork& network,
    int64_t epoch,
    const std::string& out_dir);

} // namespace sdn::train
