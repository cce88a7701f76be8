#pragma once

#include "sdn/data/dataset.h"
#include "sdn/network/sdn_network.h"

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sdn::inference {

/// How to run a network over a split.
struct EvalOptions {
  int64_t batch_size = 256;
  std::string device = "cpu";
  bool channels_last = true; ///< NHWC convolutions (faster on CPU).
  /// Run a copy with BatchNorms folded into the convolutions (probabilities
  /// equal within float rounding; see network::inference_copy).
  bool fold_batch_norm = true;
  bool progress = true; ///< Progress bar on stderr.
  std::string label = "eval"; ///< Progress bar label.
  /// Called after every batch with the samples done so far and the total
  /// (the trainer reports validation progress through it); may be empty.
  std::function<void(int64_t done, int64_t total)> on_progress;

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// Runs an eval-mode inference copy of `network` (network::inference_copy;
/// `network` is not changed) over every sample of `dataset` (normalised, no
/// augmentation) and returns the softmax probabilities of every exit:
/// float32 [N, E, K] on the CPU, exits shallowest first, final last.
torch::Tensor exit_probabilities(
    network::SdnNetwork& network,
    const data::Dataset& dataset,
    const data::DatasetInfo& info,
    const EvalOptions& options);

/// Top-1 accuracy in percent of each exit, from probabilities [N, E, K].
std::vector<double> exit_accuracy(
    const torch::Tensor& probs,
    const torch::Tensor& labels);

/// This process's part of a data-parallel evaluation.
struct Shard {
  int64_t rank = 0; ///< In [0, world_size).
  int64_t world_size = 1; ///< Processes sharing the split.

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// The contiguous positions [rank*n/world, (rank+1)*n/world) of `n` samples
/// that `shard` evaluates: the shards of all ranks cover 0..n-1 once.
std::vector<int64_t> shard_indices(int64_t n, const Shard& shard);

/// Sums a vector element-wise over every process of a data-parallel run (a
/// collective, called by all of them in the same order).
using SumOverRanks =
    std::function<std::vector<double>(const std::vector<double>&)>;

/// Top-1 accuracy in percent of each exit over the whole `dataset`,
/// evaluated data-parallel: this process runs exit_probabilities over its
/// shard (shard_indices) and `sum` adds every rank's sample and correct
/// counts, so the result is exactly the one-process accuracy. With one
/// process `sum` may be the identity. Every rank gets the same result.
std::vector<double> sharded_exit_accuracy(
    network::SdnNetwork& network,
    const data::Dataset& dataset,
    const data::DatasetInfo& info,
    const EvalOptions& options,
    const Shard& shard,
    const SumOverRanks& sum);

} // namespace sdn::inference
