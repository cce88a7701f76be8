#include "sdn/inference/trace_builder.h"

#include "sdn/checkpoint/checkpoint.h"
#include "sdn/checkpoint/config.h"
#include "sdn/data/dataset.h"
#include "sdn/data/rng.h"
#include "sdn/util/error.h"
#include "sdn/util/json_fields.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

namespace sdn::inference {

const std::vector<std::string>& generated_ood_sources() {
  static const std::vector<std::string> kSources = {
      "uniform-noise", "gaussian-noise", "inverted", "held-out-classes"};
  return kSources;
}

void TraceOptions::validate() const {
  check(!checkpoint.empty(), "--checkpoint is required");
  if (!ood_source.empty()) {
    const auto& generated = generated_ood_sources();
    const auto& names = data::dataset_names();
    const bool known =
        std::find(generated.begin(), generated.end(), ood_source) !=
            generated.end() ||
        std::find(names.begin(), names.end(), ood_source) != names.end();
    std::string all;
    for (const auto& s : generated) {
      all += s + ", ";
    }
    check(
        known,
        "--ood-source must be one of ",
        all,
        "or a data set name, got '",
        ood_source,
        "'");
    check(
        split == "test",
        "--split has no effect with --ood-source (OOD images stand in for "
        "the test split)");
    check(
        !trigger,
        "--trigger has no effect with --ood-source (the trigger is pasted on "
        "in-distribution images)");
  }
  const bool read_from_files = std::find(
                                   data::dataset_names().begin(),
                                   data::dataset_names().end(),
                                   ood_source) != data::dataset_names().end() &&
      ood_source != "synthetic";
  check(
      ood_data_dir.empty() || read_from_files,
      "--ood-data-dir has no effect unless --ood-source names a data set "
      "read from files (synthetic is made in memory)");
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
  // The names of the trace's labels, in label order (after --classes).
  meta["class_names"] = data::dataset_info(provenance.data).class_names;
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

data::Dataset ood_images(
    const std::string& source,
    const std::string& source_data_dir,
    const data::Splits& splits,
    const data::DataOptions& data,
    int64_t max_samples) {
  const data::Dataset& test = splits.test;
  int64_t n = test.size();
  if (max_samples > 0) {
    n = std::min(n, max_samples);
  }
  data::Dataset out;
  if (source == "inverted") {
    out.images =
        (255 - test.images.narrow(0, 0, n).to(torch::kInt32)).to(torch::kUInt8);
  } else if (source == "uniform-noise" || source == "gaussian-noise") {
    out.images = torch::empty(
        {n, test.images.size(1), test.images.size(2), test.images.size(3)},
        torch::kUInt8);
    uint8_t* px = out.images.data_ptr<uint8_t>();
    data::Rng rng(data::derive_seed(data.seed, data::Stream::kOodNoise));
    const bool gaussian = source == "gaussian-noise";
    for (int64_t i = 0; i < out.images.numel(); ++i) {
      const double v = gaussian ? std::round(127.5 + 63.75 * rng.normal()) :
                                  static_cast<double>(rng.below(256));
      px[i] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
    }
  } else if (source == "held-out-classes") {
    check(
        !data.classes.empty(),
        "--ood-source held-out-classes: the checkpoint was trained on all ",
        splits.info.num_classes,
        " classes of ",
        data.name,
        " (train with --classes to hold some out)");
    const std::vector<int64_t> held_out = data::held_out_classes(data);
    data::DataOptions all = data; // the whole data set: only test is used
    all.classes.clear();
    all.val_size = 0;
    all.train_subset = 0;
    const data::Dataset whole = data::load_splits(all).test;
    const auto labels = whole.labels.contiguous();
    std::vector<int64_t> picked;
    for (int64_t i = 0; i < whole.size(); ++i) {
      const int64_t y = labels.data_ptr<int64_t>()[i];
      if (std::find(held_out.begin(), held_out.end(), y) != held_out.end()) {
        picked.push_back(i);
      }
    }
    if (max_samples > 0 && static_cast<int64_t>(picked.size()) > max_samples) {
      picked.resize(static_cast<size_t>(max_samples));
    }
    out.images = data::subset(whole, picked).images;
    n = out.images.size(0);
  } else {
    check(
        std::find(
            data::dataset_names().begin(),
            data::dataset_names().end(),
            source) != data::dataset_names().end(),
        "--ood-source must be one of uniform-noise, gaussian-noise, inverted "
        "or a data set name, got '",
        source,
        "'");
    // Another image folder is another data set; any other name is the
    // checkpoint's own data when it is the checkpoint's data set.
    std::error_code error_code;
    check(
        source != data.name ||
            (source == "folder" &&
             !std::filesystem::equivalent(
                 source_data_dir.empty() ? "." : source_data_dir,
                 data.data_dir,
                 error_code)),
        "--ood-source ",
        source,
        ": the checkpoint was trained on ",
        source == "folder" ? "that folder" : data.name,
        ", so its test images are in distribution; choose another data set "
        "or a generated source");
    data::DataOptions other = data;
    other.classes.clear();
    other.name = source;
    other.data_dir = source_data_dir;
    other.val_size = 0;
    other.train_subset = 0;
    // What the checkpoint's data read from its files is not the OOD data's;
    // an image folder is read at the network's input shape.
    other.class_names.clear();
    other.mean.clear();
    other.std.clear();
    other.image_channels = test.images.size(1);
    other.image_side = test.images.size(2);
    data::Splits loaded;
    try {
      loaded = data::load_splits(other);
    } catch (const Error& e) {
      // The loader's advice names --data-dir, the in-distribution data's
      // option; here it is --ood-data-dir.
      std::string message = e.what();
      for (size_t at = message.find("--data-dir"); at != std::string::npos;
           at = message.find("--data-dir", at + 14)) {
        message.replace(at, 10, "--ood-data-dir");
      }
      fail("--ood-source ", source, ": ", message);
    }
    const data::Dataset& images = loaded.test;
    check(
        images.images.sizes().slice(1) == test.images.sizes().slice(1),
        "--ood-source ",
        source,
        ": its test images are ",
        images.images.sizes().slice(1),
        ", the checkpoint's ",
        test.images.sizes().slice(1));
    const int64_t m =
        max_samples > 0 ? std::min(images.size(), max_samples) : images.size();
    out.images = images.images.narrow(0, 0, m).contiguous();
    n = m;
  }
  out.labels = torch::zeros({n}, torch::kLong);
  return out;
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
  const bool ood = !options.ood_source.empty();
  data::Dataset dataset = ood ? ood_images(
                                    options.ood_source,
                                    options.ood_data_dir,
                                    splits,
                                    config.data,
                                    options.max_samples) :
                                select_split(splits, options.split);
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
  if (ood) {
    trace.ood = true;
    trace.ood_source = options.ood_source;
    std::fill(trace.labels.begin(), trace.labels.end(), int64_t{-1});
  }
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
