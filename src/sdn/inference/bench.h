#pragma once

#include "sdn/network/sdn_network.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <cstdint>
#include <ostream>
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
  bool channels_last = true; ///< Optimised build: NHWC convolutions.
  bool fold_batch_norm = true; ///< Optimised build: BN folded into convs.
  /// Also time the plain build (unfolded, NCHW) in the same process.
  bool compare_plain = false;

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// One row: a variant of one build at a batch size.
struct ExitBenchRow {
  std::string variant; ///< "cnn", "sdn-all-exits", "early-exit".
  std::string build; ///< "optimised" (the options' layout) or "plain".
  int64_t batch_size = 0;
  double images_per_second = 0; ///< Median over repetitions.
  double relative_time = 0; ///< Wall-clock per image / the same build's CNN.
  double relative_cost = 0; ///< FLOPs (paper counting) relative to the CNN.
  /// Images/s over the plain build's same variant (0 when not compared).
  double speedup_over_plain = 0;
  std::vector<double> runs; ///< images/s of every repetition.
};

/// Times the plain CNN (the SDN's own backbone without ICs), the SDN with all
/// exits evaluated, and real early exit (batch compaction, early_exit_batch)
/// on `images` (normalised [N, C, H, W]) at each batch size, on inference
/// copies of `network` (which is not changed). `exit_cost` prices exits
/// relative to the CNN (last = whole SDN). One untimed warm-up pass per
/// variant, then `repetitions` rounds that time every variant once each
/// (interleaved, so load drift hits all alike); medians are reported.
std::vector<ExitBenchRow> bench_exit(
    network::SdnNetwork& network,
    const torch::Tensor& images,
    const std::vector<double>& exit_cost,
    const ExitBenchOptions& options);

/// Where the time of one full forward goes, per exit.
struct StageRow {
  int64_t exit = 0; ///< 0-based; the last is the final exit (head).
  double seconds = 0; ///< Median time of this stage (blocks since the
                      ///< previous exit, then this exit's classifier).
  double cumulative_time = 0; ///< Stages up to here / the CNN's forward.
  double cumulative_cost = 0; ///< FLOPs up to here / the CNN's.
};

/// Times the SDN's staged forward (start, then step through every exit with
/// no sample leaving) on the first `batch_size` images, against the plain
/// CNN's forward on the same images, using the options' build. Shows which
/// stages are slow relative to their FLOPs.
std::vector<StageRow> bench_stages(
    network::SdnNetwork& network,
    const torch::Tensor& images,
    const std::vector<double>& exit_cost,
    int64_t batch_size,
    const ExitBenchOptions& options);

/// `sdn bench exit --json`: one object per row (variant, build, batch_size,
/// images_per_second, relative_time, relative_cost, speedup_over_plain,
/// runs).
nlohmann::json bench_exit_json(const std::vector<ExitBenchRow>& rows);

/// `sdn bench exit`'s table, headed by the threshold, the architecture
/// `arch`, the intra-op `threads` and the optimised build's layout.
void print_bench_exit(
    std::ostream& out,
    const std::vector<ExitBenchRow>& rows,
    const ExitBenchOptions& options,
    const std::string& arch,
    int64_t threads);

/// `sdn bench exit --stages --json`: one object per stage (exit, seconds,
/// cumulative_time, cumulative_cost).
nlohmann::json stages_json(const std::vector<StageRow>& rows);

/// `sdn bench exit --stages B`'s table (times in milliseconds).
void print_stages(
    std::ostream& out,
    const std::vector<StageRow>& rows,
    const ExitBenchOptions& options,
    int64_t batch_size);

} // namespace sdn::inference
