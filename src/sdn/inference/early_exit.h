#pragma once

// Real early exit (docs/exit-trace.md#early-exit, the design's separate path
// from trace simulation): run an SDN block by block and drop the samples an
// exit policy (analysis/exit_policy.h) lets go at each IC, so later blocks
// compute only on the rest. Decides exactly as analysis::simulate on the trace
// of the same network.

#include "sdn/analysis/early_exit.h"
#include "sdn/analysis/exit_policy.h"
#include "sdn/data/dataset.h"
#include "sdn/network/sdn_network.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace sdn::inference {

/// How to run real early exit.
struct EarlyExitOptions {
  int64_t batch_size = 256; ///< 1 = one sample at a time.
  std::string device = "cpu";
  bool channels_last = true; ///< NHWC convolutions (faster on CPU).
  /// Run a copy with BatchNorms folded into the convolutions (probabilities
  /// equal within float rounding; see network::inference_copy).
  bool fold_batch_norm = true;
  analysis::NoExitRule no_exit = analysis::NoExitRule::kMostConfident;
  bool progress = true;

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// Per-sample outcome and totals of a real early-exit run.
struct EarlyExitResult {
  std::string policy; ///< The policy's name.
  double param = 0; ///< Its parameter.
  std::string description; ///< Its describe(), e.g. "max-softmax >= 0.9".
  int64_t batch_size = 0; ///< As run.
  std::vector<double> exit_cost; ///< [E] the price of each exit.
  std::vector<int64_t> exit_index; ///< Per sample; E-1 = did not exit early.
  std::vector<int64_t> prediction; ///< Per sample.
  std::vector<int64_t> exit_counts; ///< Per exit.
  double accuracy = 0; ///< Percent.
  double cost = 0; ///< Mean relative cost (exit_cost of each sample's exit).
  double seconds = 0; ///< Wall-clock of the network work (no data loading).
  double images_per_second = 0;
};

/// Runs `network` (as it is: eval mode, device and layout are the caller's)
/// block by block over a batch. At each IC the softmax of the remaining
/// samples comes to the CPU as float32 once, `policy` decides per sample
/// (seeing its rows of the last policy.history() exits, kept and compacted
/// with the batch), and the samples that exit leave the batch, so later
/// blocks compute only on the remaining ones. `images` are normalised float
/// [B, C, H, W]. Fills exit_index and prediction (the first argmax of the
/// answering exit) for the batch (sizes B). Samples no IC takes are answered
/// by the most confident exit (strictly greater, so ties keep the earlier
/// exit) or by the final exit, per `no_exit`.
void early_exit_batch(
    network::SdnNetwork& network,
    const torch::Tensor& images,
    const analysis::ExitPolicy& policy,
    analysis::NoExitRule no_exit,
    std::vector<int64_t>& exit_index,
    std::vector<int64_t>& prediction);

/// Runs early exit over a whole split in batches of options.batch_size and
/// measures it, on an inference copy of `network` (network::inference_copy;
/// `network` is not changed). `exit_cost` (E entries, relative to the CNN)
/// prices each exit.
EarlyExitResult run_early_exit(
    network::SdnNetwork& network,
    const data::Dataset& dataset,
    const data::DatasetInfo& info,
    const analysis::ExitPolicy& policy,
    const std::vector<double>& exit_cost,
    const EarlyExitOptions& options);

/// `sdn exit --json`: policy, param, accuracy, cost, exit_counts, seconds,
/// images_per_second, batch_size; and threshold (= param) for max-prob.
nlohmann::json early_exit_json(const EarlyExitResult& result);

/// `sdn exit`'s table: the policy, accuracy, relative cost, wall-clock and
/// per exit the samples, their share and the exit's cost. `split` names the
/// split run.
void print_early_exit(
    std::ostream& out,
    const EarlyExitResult& result,
    const std::string& split);

} // namespace sdn::inference
