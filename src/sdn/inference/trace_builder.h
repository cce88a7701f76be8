#pragma once

#include "sdn/analysis/exit_trace.h"
#include "sdn/data/dataset.h"
#include "sdn/data/trigger.h"
#include "sdn/inference/evaluator.h"
#include "sdn/network/sdn_network.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace sdn::inference {

/// The out-of-distribution sources `sdn eval --ood-source` generates from
/// the checkpoint's test split (docs/exit-trace.md#ood): "uniform-noise"
/// (pixels uniform in 0..255), "gaussian-noise" (pixels N(127.5, 63.75)
/// rounded and clipped to 0..255), "inverted" (255 - x of the test
/// images), "held-out-classes" (the test images of the classes a checkpoint
/// trained with --classes left out). Any data set name (--dataset) is a source
/// too: its test split, which must have the checkpoint's image shape.
const std::vector<std::string>& generated_ood_sources();

/// What `sdn eval` evaluates.
struct TraceOptions {
  std::string checkpoint; ///< Checkpoint directory.
  std::string split = "test"; ///< train, val or test.
  std::string data_dir; ///< Overrides the checkpoint's data directory.
  int64_t max_samples = 0; ///< > 0: only the first this many samples.
  bool trigger = false; ///< Paste the backdoor trigger on every image.
  data::TriggerOptions trigger_options;
  /// Non-empty: evaluate out-of-distribution images instead of `split`
  /// (generated_ood_sources() or a data set name); the trace is an OOD
  /// trace (labels -1).
  std::string ood_source;
  /// Where a data-set OOD source is read from ("" = its default place).
  std::string ood_data_dir;
  EvalOptions eval;

  /// Throws sdn::Error naming the first bad parameter.
  void validate() const;
};

/// Where a trace came from: what `sdn eval` records in the trace's meta.json
/// beside the counts and costs (docs/exit-trace.md), so that the images it
/// was made from can be loaded again.
struct TraceProvenance {
  std::string arch; ///< "arch": the checkpoint's architecture.
  std::string dataset; ///< "dataset": the data set it was trained on.
  std::string mode; ///< "mode": cnn, sdn or ic-only.
  int64_t epoch = 0; ///< "epoch": the checkpoint's epoch.
  data::DataOptions data; ///< "data": the data options the trace used.
  int64_t max_samples = 0; ///< "max_samples": 0 = the whole split.
  /// "trigger" (true when set) and "trigger_options" {x, y, size, target}.
  std::optional<data::TriggerOptions> trigger;
};

/// Sets the provenance keys of `meta` (a trace's ExitTrace::meta).
void write_provenance(const TraceProvenance& provenance, nlohmann::json& meta);

/// Reads what write_provenance writes from a trace's meta.json contents;
/// throws sdn::Error "SOURCE: missing key 'data'" (or naming a value of the
/// wrong type, with what was expected and found).
TraceProvenance read_provenance(
    const nlohmann::json& meta,
    const std::string& source);

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

/// The OOD images of `source` for a checkpoint whose data loaded as
/// `splits` under `data` (its options): as many as its test split (at most
/// `max_samples` when > 0), uint8 [N, C, H, W] like it, labels 0 (unused).
/// Noise is seeded by data.seed. Throws sdn::Error naming --ood-source for
/// an unknown source, the checkpoint's own data set, a data set of another
/// image shape or that cannot be read, or held-out-classes for a checkpoint
/// trained on all classes.
data::Dataset ood_images(
    const std::string& source,
    const std::string& source_data_dir,
    const data::Splits& splits,
    const data::DataOptions& data,
    int64_t max_samples);

/// Loads the checkpoint and its data, runs it once over the split (or the
/// OOD images of options.ood_source) and returns the exit trace
/// (probabilities, labels, costs, meta).
analysis::ExitTrace evaluate_checkpoint(const TraceOptions& options);

} // namespace sdn::inference
