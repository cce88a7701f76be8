#pragma once

#include "sdn/data/dataset.h"
#include "sdn/network/sdn_network.h"

#include <torch/types.h>

#include <cstdint>
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

} // namespace sdn::inference
