#include "sdn/inference/trace_builder.h"

#include "sdn/checkpoint/checkpoint.h"
#include "sdn/checkpoint/config.h"
#include "sdn/util/error.h"
#include "sdn/util/json_fields.h"

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

void write_provenance(const TraceProvenance& provenance, nlohmann::json& meta) {
  meta["arch"] = provenance.arch;
  meta["dataset"] = provenance.dataset;
  meta["mode"] = provenance.mode;
  meta["epoch"] = provenance.epoch;
  meta["data"] = checkpoint::to_json(provenance.data);
  meta["max_samples"] = provenance.max_samples;
  meta["trigger"] = provenance.trigger.has_value();
  if (provenance.trigger) {
    const data::TriggerOptions& t = *provenance.trigger;
    meta["trigger_options"] = {
        {"x", t.x}, {"y", t.y}, {"size", t.size}, {"target", t.target}};
  }
}

TraceProvenance read_provenance(
    const nlohmann::json& meta,
    const std::string& source) {
  using json_fields::read_field;
  TraceProvenance p;
  try {
    // The data options first: they are what a reader usually wants.
    nlohmann::json data;
    read_field(meta, "data", data);
    try {
      p.data = checkpoint::data_options_from_json(data, "data.");
    } catch (const Error& e) {
      fail(source, ": ", e.what());
    }
    read_field(meta, "arch", p.arch);
    read_field(meta, "dataset", p.dataset);
    read_field(meta, "mode", p.mode);
    read_field(meta, "epoch", p.epoch);
    read_field(meta, "max_samples", p.max_samples);
    bool trigger = false;
    read_field(meta, "trigger", trigger);
    if (trigger) {
      nlohmann::json t;
      read_field(meta, "trigger_options", t);
      data::TriggerOptions& to = p.trigger.emplace();
      try {
        read_field(t, "x", to.x);
        read_field(t, "y", to.y);
        read_field(t, "size", to.size);
        read_field(t, "target", to.target);
      } catch (const json_fields::FieldError& e) {
        throw e.under("trigger_options");
      }
    }
  } catch (const json_fields::FieldError& e) {
    fail(source, ": ", e.what());
  }
  return p;
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
  config.data = config.data.moved_to(options.data_dir);
  // Only the split's images are needed; a training subset never applies to
  // evaluation of the val or test split.
  const auto splits = data::load_splits(config.data);
  data::Dataset dataset = select_split(splits, options.split);
  if (options.max_samples > 0 && options.max_samples < dataset.size()) {
    dataset.images = dataset.images.narrow(0, 0, options.max_samples);
    dataset.labels = dataset.labels.narrow(0, 0, options.max_samples);
  }
  if (options.trigger) {
    check(
        options.trigger_options.target < meta.num_classes,
        "--trigger-target ",
        options.trigger_options.target,
        ": expected a class of the checkpoint (0 to ",
        meta.num_classes - 1,
        ")");
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
  TraceProvenance provenance;
  provenance.arch = meta.arch;
  provenance.dataset = meta.dataset;
  provenance.mode = checkpoint::mode_name(meta.mode);
  provenance.epoch = meta.epoch;
  provenance.data = config.data;
  provenance.max_samples = options.max_samples;
  if (options.trigger) {
    provenance.trigger = options.trigger_options;
  }
  trace.meta = nlohmann::json::object();
  write_provenance(provenance, trace.meta);
  return trace;
}

} // namespace sdn::inference
