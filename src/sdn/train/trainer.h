#pragma once

#include "sdn/checkpoint/config.h"
#include "sdn/train/distributed.h"

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::train {

/// What one epoch measured; one line of DIR/metrics.jsonl.
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

/// JSON of one epoch's metrics.
nlohmann::json to_json(const EpochMetrics& m);

/// How a run ended.
struct TrainResult {
  std::string last_dir; ///< DIR/last.
  std::string best_dir; ///< DIR/best.
  int64_t epochs_done = 0; ///< Epochs completed so far (all invocations).
  bool finished = false; ///< All configured epochs done.
  std::vector<EpochMetrics> history;
};

/// Hooks for callers that embed training (the paper pipeline, tests).
struct TrainHooks {
  bool print_table = true; ///< Per-epoch table on stdout (rank 0 only).
  bool progress = true; ///< Progress bar on stderr (rank 0 only).
};

/// Trains from scratch (cnn, sdn) or from config.from (ic-only) into
/// config.out. Refuses an out directory that already holds a run. With
/// `distributed` of world size N, this process is one of N data-parallel
/// ranks started with the same config (batch_size is per rank); rank 0 alone
/// writes the output directory.
TrainResult run_training(
    const checkpoint::TrainConfig& config,
    const TrainHooks& hooks = {},
    const DistributedOptions& distributed = {});

/// Continues the run in `out_dir` exactly where its last checkpoint stopped
/// (same lr, IC weights, optimiser state and random streams). `stop_after`
/// and `device` may differ from the original invocation, and so may the
/// world size (the run is then no longer bit-identical to an uninterrupted
/// one: the effective batch changes).
TrainResult resume_training(
    const std::string& out_dir,
    int64_t stop_after,
    const std::string& device,
    const TrainHooks& hooks = {},
    const DistributedOptions& distributed = {});

/// True when `out_dir` holds a resumable run (a `last` checkpoint).
bool has_run(const std::string& out_dir);

/// The training loss of `mode` (spec 8) from every exit's logits (final
/// last): cnn: CE(final); sdn: CE(final) + sum_i tau_i CE(IC i); ic-only:
/// sum_i CE(IC i). `tau` has one weight per IC (sdn only).
torch::Tensor training_loss(
    checkpoint::Mode mode,
    const std::vector<torch::Tensor>& outputs,
    const torch::Tensor& labels,
    const std::vector<double>& tau);

/// Drops every gradient the optimiser holds (PyTorch's
/// zero_grad(set_to_none=True)): backward then stores fresh gradients instead
/// of adding them to zeroed ones. The optimisers skip undefined gradients, so
/// updates are the same as after zero_grad().
void clear_gradients(torch::optim::Optimizer& optimizer);

} // namespace sdn::train
