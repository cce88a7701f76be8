#include "sdn/inference/trace_builder.h"

#include "sdn/checkpoint/checkpoint.h"
#include "sdn/util/error.h"

#include <torch/torch.h>

#include <cstring>

namespace sdn::inference {

void TraceOptions::validate() const {
  check(!checkpoint.empty(), "--checkpoint is required");
  check(
      split == "train" || split == "val" || split == "test",
      "--split must be train, val or test, got '",
      split,
      "'");
  check(max_samples >= 0, "--max-samples must be >= 0, got ", max_samples);
  if (trigger) {
    trigger_options.validate();
  }
  eval.validate();
}

const data::Dataset& select_split(
    const data::Splits& splits,
    const std::string& split) {
  if (split == "train") {
    return splits.train;
  }
  if (split == "val") {
    check(
        splits.val.size() > 0,
        "--split val: this run has no validation split (--val-size 0)");
    return splits.val;
  }
  if (split == "test") {
    return splits.test;
  }
  fail("--split must be train, val or test, got '", split, "'");
}

std::vector<double> relative_exit_costs(
    const network::SdnNetwork& network,
    bool exact) {
  const auto table = network->costs();
  const double cnn = exact ? table.cnn.macs : table.cnn.ops;
  std::vector<double> costs;
  for (const auto& c : table.exits) {
    costs.push_back((exact ? c.macs : c.ops) / cnn);
  }
  return costs;
}

analysis::ExitTrace evaluate_checkpoint(const TraceOptions& options) {
  options.validate();
  checkpoint::CheckpointMeta meta;
  auto network = checkpoint::load_network(options.checkpoint, meta);
  auto config = meta.config;
  if (!options.data_dir.empty()) {
    config.data.data_dir = options.data_dir;
  }
  // Only the split's images are needed; a training subset never applies to
  // evaluation of the val or test split.
  const auto splits = data::load_splits(config.data);
  data::Dataset dataset = select_split(splits, options.split);
  if (options.max_samples > 0 && options.max_samples < dataset.size()) {
    dataset.images = dataset.images.narrow(0, 0, options.max_samples);
    dataset.labels = dataset.labels.narrow(0, 0, options.max_samples);
  }
  if (options.trigger) {
    dataset.images =
        data::apply_trigger(dataset.images, options.trigger_options);
  }
  const auto probs =
      exit_probabilities(network, dataset, splits.info, options.eval)
          .contiguous();

  analysis::ExitTrace trace;
  trace.num_samples = probs.size(0);
  trace.num_exits = probs.size(1);
  trace.num_classes = probs.size(2);
  trace.probs.resize(static_cast<size_t>(probs.numel()));
  std::memcpy(
      trace.probs.data(),
      probs.data_ptr<float>(),
      trace.probs.size() * sizeof(float));
  const auto labels = dataset.labels.contiguous();
  trace.labels.assign(
      labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel());
  trace.exit_cost = relative_exit_costs(network, /*exact=*/false);
  trace.exit_cost_exact = relative_exit_costs(network, /*exact=*/true);
  trace.split = options.split;
  trace.checkpoint = options.checkpoint;
  trace.meta = {
      {"arch", meta.arch},
      {"dataset", meta.dataset},
      {"mode", checkpoint::mode_name(meta.mode)},
      {"epoch", meta.epoch},
      {"data", checkpoint::to_json(config.data)},
      {"max_samples", options.max_samples},
      {"trigger", options.trigger},
  };
  if (options.trigger) {
    trace.meta["trigger_options"] = {
        {"x", options.trigger_options.x},
        {"y", options.trigger_options.y},
        {"size", options.trigger_options.size},
        {"target", options.trigger_options.target}};
  }
  return trace;
}

} // namespace sdn::inference
