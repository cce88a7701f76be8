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

/// What real early exit carries for each sample still running from one exit
/// to the next: the policy's history and the most confident answer so far
/// (for NoExitRule::kMostConfident). Flat arrays, one entry (or block) per
/// row, rows in the order of the batch they belong to. Empty before exit 0.
struct ExitCarry {
  /// Rows of history each sample holds: min(exits seen, ExitDecider::depth())
  /// when depth() > 1, else 0.
  int64_t held = 0;
  int64_t num_classes = 0; ///< K; 0 before exit 0.
  /// [m, held, K] row-major float32: each sample's softmax (or combined)
  /// rows of its latest `held` exits, oldest first.
  std::vector<float> history;
  std::vector<float> best_conf; ///< [m] top probability of the best answer.
  std::vector<int64_t> best_pred; ///< [m] its class (first argmax).

  /// Samples held (m).
  int64_t rows() const {
    return static_cast<int64_t>(best_conf.size());
  }
  /// Keeps the rows at positions `keep` (increasing, each < rows()) in that
  /// order and drops the rest.
  void keep_rows(const std::vector<int64_t>& keep);
  /// Appends `count` rows of `other` from row `first` after these rows. Both
  /// must have passed the same exits (same `held` and K; an empty carry
  /// takes the other's). Throws sdn::Error otherwise.
  void append(const ExitCarry& other, int64_t first, int64_t count);
};

/// What ExitDecider::decide answers for each row at one exit.
struct ExitDecisions {
  /// [m] 1 when the row leaves at this exit: the policy let it go (an IC),
  /// or the final exit (every row).
  std::vector<uint8_t> exits;
  /// [m] the class the row answers with when it leaves here: the exit's
  /// first argmax (of the policy's combined output when it combines()); at
  /// the final exit the no-exit rule's answer.
  std::vector<int64_t> prediction;
  /// [m] the top probability of that answer (float32, as compared).
  std::vector<float> confidence;
};

/// Per-row exit decisions, one exit at a time, as early_exit_batch makes
/// them (the one implementation: early_exit_batch and `sdn serve`'s stages
/// both call it, so their decisions are the same). Holds scratch memory:
/// one decider per thread.
class ExitDecider {
 public:
  /// For `policy` (which must outlive the decider) on a network of
  /// `num_exits` exits, samples no IC takes answered per `no_exit`.
  ExitDecider(
      const analysis::ExitPolicy& policy,
      analysis::NoExitRule no_exit,
      int64_t num_exits);

  /// Decides at exit `exit` (0-based; num_exits - 1 is the final exit) for
  /// m rows whose softmax at this exit is `probs` (float32 [m, k]
  /// row-major, on the CPU). `carry` holds the same rows' state from the
  /// exits before (ignored and reset at exit 0) and comes back holding this
  /// exit too, for every row (the caller drops the rows that left with
  /// ExitCarry::keep_rows). Fills `out` (m entries each). Throws
  /// sdn::Error when the policy was fitted for another E or K, or when
  /// `carry` does not hold m rows of K classes.
  void decide(
      int64_t exit,
      const float* probs,
      int64_t m,
      int64_t k,
      ExitCarry& carry,
      ExitDecisions& out);

  /// Rows of history the policy reads (combines(): every exit's).
  int64_t depth() const {
    return depth_;
  }

 private:
  const analysis::ExitPolicy& policy_;
  analysis::NoExitRule no_exit_;
  int64_t exits_;
  bool combines_;
  int64_t depth_;
  std::vector<float> next_history_; // scratch
  std::vector<float> combined_; // scratch: one combined row
};

/// The rows `keep` (increasing positions, on the CPU) of a batch `state`
/// [B, ...] in that order, on state's device. A channels-last 4-D state
/// stays channels-last (selected in its NHWC view, one copy).
torch::Tensor select_rows(
    const torch::Tensor& state,
    const std::vector<int64_t>& keep);

/// Runs `network` (as it is: eval mode, device and layout are the caller's)
/// block by block over a batch. At each IC the softmax of the remaining
/// samples comes to the CPU as float32 once, `policy` decides per sample
/// (seeing its rows of the last policy.history() exits, kept and compacted
/// with the batch), and the samples that exit leave the batch, so later
/// blocks compute only on the remaining ones. `images` are normalised float
/// [B, C, H, W]. Fills exit_index and prediction (the first argmax of the
/// answering exit) for the batch (sizes B). Samples no IC takes are answered
/// by the most confident exit (strictly greater, so ties keep the earlier
/// exit) or by the final exit, per `no_exit`. `confidence`, when not null,
/// gets each sample's top probability of its answer (ExitDecisions).
void early_exit_batch(
    network::SdnNetwork& network,
    const torch::Tensor& images,
    const analysis::ExitPolicy& policy,
    analysis::NoExitRule no_exit,
    std::vector<int64_t>& exit_index,
    std::vector<int64_t>& prediction,
    std::vector<float>* confidence = nullptr);

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
