#pragma once

#include "sdn/analysis/exit_trace.h"
#include "sdn/data/dataset.h"
#include "sdn/data/trigger.h"
#include "sdn/inference/evaluator.h"
#include "sdn/network/sdn_network.h"

#include <cstdint>
#include <string>

namespace sdn::inference {

/// What `sdn eval` evaluates.
struct TraceOptions {
  std::string checkpoint; ///< Checkpoint directory.
  std::string split = "test"; ///< train, val or test.
  std::string data_dir; ///< Overrides the checkpoint's data directory.
  int64_t max_samples = 0; ///< > 0: only the first this many samples.
  bool trigger = false; ///< Paste the backdoor trigger on every image.
  data::TriggerOptions trigger_options;
  EvalOptions eval;

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// Picks `split` ("train", "val", "test") of `splits`; throws sdn::Error
/// naming --split when unknown or (val) empty.
const data::Dataset& select_split(
    const data::Splits& splits,
    const std::string& split);

/// Relative cumulative cost of each exit (paper counting, then exact),
/// relative to the plain CNN; last = the whole network.
std::vector<double> relative_exit_costs(
    const network::SdnNetwork& network,
    bool exact);

/// Loads the checkpoint and its data, runs it once over the split and
/// returns the exit trace (probabilities, labels, costs, meta).
analysis::ExitTrace evaluate_checkpoint(const TraceOptions& options);

} // namespace sdn::inference
