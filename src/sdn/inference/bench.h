#pragma once

#include "sdn/network/sdn_network.h"

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::inference {

/// What `sdn bench exit` measures.
struct ExitBenchOptions {
  std::vector<int64_t> batch_sizes = {1, 32, 256};
  int64_t samples = 1024; ///< Images per timed pass (batch 1: fewer, below).
  int64_t samples_batch1 = 256; ///< Images per timed pass at batch size 1.
  int64_t repetitions = 3; ///< Timed passes; the median is reported.
  double threshold = 0.9; ///< Max-softmax exit threshold.
  std::string device = "cpu";
  bool channels_last = true;

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// One row: a variant at a batch size.
struct ExitBenchRow {
  std::string variant; ///< "cnn", "sdn-all-exits", "early-exit".
  int64_t batch_size = 0;
  double images_per_second = 0; ///< Median over repetitions.
  double relative_time = 0; ///< Wall-clock per image / the CNN's.
  double relative_cost = 0; ///< FLOPs (paper counting) relative to the CNN.
  std::vector<double> runs; ///< images/s of every repetition.
};

/// Times the plain CNN (the SDN's own backbone without ICs), the SDN with all
/// exits evaluated, and real early exit (batch compaction) on `images`
/// (normalised [N, C, H, W]) at each batch size. `exit_cost` prices exits
/// relative to the CNN (last = whole SDN). Warm-up pass first, then medians.
std::vector<ExitBenchRow> bench_exit(
    network::SdnNetwork& network,
    const torch::Tensor& images,
    const std::vector<double>& exit_cost,
    const ExitBenchOptions& options);

} // namespace sdn::inference
