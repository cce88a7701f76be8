#include "sdn/app/explain.h"

#include "sdn/analysis/npy.h"
#include "sdn/analysis/overthinking.h"
#include "sdn/app/image_grids.h"
#include "sdn/checkpoint/checkpoint.h"
#include "sdn/data/loader.h"
#include "sdn/device/device.h"
#include "sdn/inference/evaluator.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/png.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sdn::app {

namespace {

constexpr int64_t kMaxSamples = 1000;
// Grad-CAM runs forward and backward passes in batches of this many.
constexpr int64_t kCamBatch = 32;

std::vector<std::string> exit_names(int64_t exits) {
  std::vector<std::string> names;
  for (int64_t e = 0; e + 1 < exits; ++e) {
    names.push_back(str_cat("IC", e + 1));
  }
  names.push_back("final");
  return names;
}

// Grad-CAM of `images` in batches, on `device`.
inference::GradCam cams(
    network::SdnNetwork& network,
    const data::Dataset& images,
    const data::DatasetInfo& info,
    bool true_class,
    const std::string& device) {
  std::vector<inference::GradCam> parts;
  for (int64_t at = 0; at < images.size(); at += kCamBatch) {
    const int64_t b = std::min(kCamBatch, images.size() - at);
    const torch::Tensor x =
        data::normalize(images.images.narrow(0, at, b), info).to(device);
    const torch::Tensor y = images.labels.narrow(0, at, b).to(device);
    parts.push_back(
        inference::grad_cam(network, x, true_class ? y : torch::Tensor()));
  }
  const auto cat = [&](torch::Tensor inference::GradCam::*member) {
    std::vector<torch::Tensor> all;
    for (const auto& p : parts) {
      all.push_back(p.*member);
    }
    return torch::cat(all, 0);
  };
  inference::GradCam out;
  out.maps = cat(&inference::GradCam::maps);
  out.targets = cat(&inference::GradCam::targets);
  out.predictions = cat(&inference::GradCam::predictions);
  out.confidence = cat(&inference::GradCam::confidence);
  return out;
}

// The jet colour of m in [0, 1] (blue, cyan, yellow, red), component c.
uint8_t jet(float m, int c) {
  const float v = 1.5f - std::abs(4.0f * m - 3.0f + static_cast<float>(c));
  return static_cast<uint8_t>(std::lround(255.0f * std::clamp(v, 0.0f, 1.0f)));
}

} // namespace

void ExplainOptions::validate() const {
  check(!checkpoint.empty(), "--checkpoint is required");
  check(
      split == "train" || split == "val" || split == "test",
      "--split must be train, val or test, got '",
      split,
      "'");
  check(
      samples >= 1 && samples <= kMaxSamples,
      "--samples must be in [1, ",
      kMaxSamples,
      "], got ",
      samples);
  check(
      select == "first" || select == "destructive",
      "--select must be first or destructive, got '",
      select,
      "'");
  check(
      target == "predicted" || target == "true",
      "--target must be predicted or true, got '",
      target,
      "'");
  check(batch_size >= 1, "--batch-size must be >= 1, got ", batch_size);
}

const std::vector<std::string>& explain_files() {
  static const std::vector<std::string> kFiles = {
      "grad_cam.png", "maps.npy", "explain.json"};
  return kFiles;
}

Explanation explain(const ExplainOptions& options) {
  options.validate();
  checked_device(options.device); // before any work: names --device
  checkpoint::CheckpointMeta meta;
  network::SdnNetwork network =
      checkpoint::load_network(options.checkpoint, meta);
  check(
      options.select != "destructive" || meta.with_ics,
      "--select destructive needs internal classifiers; ",
      options.checkpoint,
      " is a ",
      checkpoint::mode_name(meta.mode),
      " checkpoint");
  const data::DataOptions data = meta.config.data.moved_to(options.data_dir);
  const data::Splits splits = data::load_splits(data);
  const data::Dataset& split = inference::select_split(splits, options.split);
  Explanation out;
  out.info = splits.info;
  if (options.select == "first") {
    const int64_t n = std::min(options.samples, split.size());
    for (int64_t i = 0; i < n; ++i) {
      out.indices.push_back(i);
    }
    out.scanned = n;
  } else {
    // Scan the split in chunks until enough samples qualify.
    inference::EvalOptions eval;
    eval.batch_size = options.batch_size;
    eval.device = options.device;
    eval.progress = false;
    const int64_t chunk = std::max<int64_t>(options.batch_size, 1024);
    for (int64_t at = 0; at < split.size() &&
         static_cast<int64_t>(out.indices.size()) < options.samples;
         at += chunk) {
      const int64_t b = std::min(chunk, split.size() - at);
      std::vector<int64_t> rows(static_cast<size_t>(b));
      for (int64_t i = 0; i < b; ++i) {
        rows[static_cast<size_t>(i)] = at + i;
      }
      const data::Dataset part = data::subset(split, rows);
      // The chunk as a trace, so that "destructive" is the analysis's own.
      const torch::Tensor probs =
          inference::exit_probabilities(network, part, splits.info, eval)
              .contiguous();
      analysis::ExitTrace chunk_trace;
      chunk_trace.num_samples = b;
      chunk_trace.num_exits = probs.size(1);
      chunk_trace.num_classes = probs.size(2);
      chunk_trace.probs.assign(
          probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
      const auto labels = part.labels.contiguous();
      chunk_trace.labels.assign(
          labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + b);
      out.scanned = at + b; // samples looked at so far
      for (const int64_t i : analysis::destructive_samples(chunk_trace)) {
        out.indices.push_back(at + i);
        if (static_cast<int64_t>(out.indices.size()) == options.samples) {
          out.scanned = at + i + 1;
          break;
        }
      }
    }
    check(
        !out.indices.empty(),
        "--select destructive: no sample of the ",
        options.split,
        " split is right at an internal classifier and wrong at the final "
        "exit");
  }
  out.images = data::subset(split, out.indices);
  network->eval();
  network->to(checked_device(options.device));
  out.cam = cams(
      network, out.images, out.info, options.target == "true", options.device);
  return out;
}

std::string grad_cam_png(
    const torch::Tensor& images,
    const torch::Tensor& maps,
    int64_t scale) {
  check(
      images.dim() == 4 && maps.dim() == 4 && images.size(0) == maps.size(0) &&
          images.size(2) == maps.size(2) && images.size(3) == maps.size(3),
      "Grad-CAM grid: images ",
      images.sizes(),
      " and maps ",
      maps.sizes(),
      " do not match");
  const int64_t n = images.size(0);
  const int64_t c = images.size(1);
  const int64_t h = images.size(2);
  const int64_t w = images.size(3);
  const int64_t exits = maps.size(1);
  const int64_t gap = 2;
  const int64_t tile_w = w * scale;
  const int64_t tile_h = h * scale;
  const int64_t width = (exits + 1) * tile_w + exits * gap;
  const int64_t height = n * tile_h + (n - 1) * gap;
  std::vector<uint8_t> px(static_cast<size_t>(width * height * 3), 255);
  const auto img = images.contiguous();
  const auto m = maps.to(torch::kFloat32).contiguous();
  const uint8_t* ip = img.data_ptr<uint8_t>();
  const float* mp = m.data_ptr<float>();
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t y = 0; y < tile_h; ++y) {
      for (int64_t x = 0; x < tile_w; ++x) {
        const int64_t sy = y / scale;
        const int64_t sx = x / scale;
        uint8_t rgb[3];
        int gray = 0;
        for (int64_t k = 0; k < 3; ++k) {
          rgb[k] = ip[((s * c + std::min(k, c - 1)) * h + sy) * w + sx];
          gray += rgb[k];
        }
        gray /= 3;
        const int64_t row = s * (tile_h + gap) + y;
        for (int64_t t = 0; t <= exits; ++t) {
          uint8_t* out = px.data() + (row * width + t * (tile_w + gap) + x) * 3;
          for (int k = 0; k < 3; ++k) {
            if (t == 0) {
              out[k] = rgb[k];
            } else {
              const float v = mp[((s * exits + t - 1) * h + sy) * w + sx];
              out[k] = static_cast<uint8_t>((gray + jet(v, k)) / 2);
            }
          }
        }
      }
    }
  }
  return encode_png(px, width, height, 3);
}

void write_explanation(
    const ExplainOptions& options,
    const Explanation& explanation) {
  check(!options.out.empty(), "--out: an output folder is required");
  check_output_folder(options.out, "--out", explain_files());
  const inference::GradCam& cam = explanation.cam;
  const int64_t n = cam.maps.size(0);
  const int64_t exits = cam.maps.size(1);
  nlohmann::json j;
  j["checkpoint"] = options.checkpoint;
  j["split"] = options.split;
  j["select"] = options.select;
  j["target"] = options.target;
  j["scanned"] = explanation.scanned;
  j["exits"] = exit_names(exits);
  j["class_names"] = explanation.info.class_names;
  j["maps"] = {
      {"file", "maps.npy"},
      {"shape", cam.maps.sizes().vec()},
      {"layout", "[sample, exit, row, column], float32 in [0, 1]"}};
  j["samples"] = nlohmann::json::array();
  const auto labels = explanation.images.labels.contiguous();
  for (int64_t s = 0; s < n; ++s) {
    const auto to_vec = [&](const torch::Tensor& t) {
      return t[s].contiguous();
    };
    const auto pred = to_vec(cam.predictions);
    const auto target = to_vec(cam.targets);
    const auto conf = to_vec(cam.confidence);
    j["samples"].push_back(
        {{"index", explanation.indices[static_cast<size_t>(s)]},
         {"label", labels.data_ptr<int64_t>()[s]},
         {"predictions",
          std::vector<int64_t>(
              pred.data_ptr<int64_t>(), pred.data_ptr<int64_t>() + exits)},
         {"targets",
          std::vector<int64_t>(
              target.data_ptr<int64_t>(), target.data_ptr<int64_t>() + exits)},
         {"confidence",
          std::vector<float>(
              conf.data_ptr<float>(), conf.data_ptr<float>() + exits)}});
  }
  // A folder beside --out, swapped in whole: a kill leaves the old one.
  write_folder_atomic(options.out, [&](const std::string& fresh) {
    const auto maps = cam.maps.contiguous();
    analysis::write_npy(
        fresh + "/maps.npy",
        std::vector<float>(
            maps.data_ptr<float>(), maps.data_ptr<float>() + maps.numel()),
        maps.sizes().vec());
    const int64_t scale = explanation.info.side <= 32 ? 3 : 2;
    write_file_atomic(
        fresh + "/grad_cam.png",
        grad_cam_png(explanation.images.images, cam.maps, scale));
    write_json_atomic(fresh + "/explain.json", j);
  });
}

std::optional<report::ImageGrid> grad_cam_grid(
    const analysis::ExitTrace& trace,
    const std::string& checkpoint,
    const data::Dataset& images,
    const data::DatasetInfo& info,
    int64_t count,
    std::string& why) {
  try {
    checkpoint::CheckpointMeta meta;
    network::SdnNetwork network = checkpoint::load_network(checkpoint, meta);
    check(
        meta.num_exits == trace.num_exits &&
            meta.num_classes == trace.num_classes,
        "the trace's checkpoint ",
        checkpoint,
        " has ",
        meta.num_exits,
        " exits and ",
        meta.num_classes,
        " classes, the trace ",
        trace.num_exits,
        " and ",
        trace.num_classes);
    // The same network: arch, mode, epoch and data as the trace records
    // them (a checkpoint replaced by another run would explain other
    // predictions than the trace's).
    const inference::TraceProvenance made_by =
        inference::read_provenance(trace.meta, "the trace's meta.json");
    check(
        made_by.arch == meta.arch &&
            made_by.mode == checkpoint::mode_name(meta.mode) &&
            made_by.epoch == meta.epoch && made_by.dataset == meta.dataset &&
            made_by.data.classes == meta.config.data.classes,
        checkpoint,
        " is not the network the trace was made with (trace: ",
        made_by.arch,
        " ",
        made_by.mode,
        " epoch ",
        made_by.epoch,
        " on ",
        made_by.dataset,
        "; checkpoint: ",
        meta.arch,
        " ",
        checkpoint::mode_name(meta.mode),
        " epoch ",
        meta.epoch,
        " on ",
        meta.dataset,
        made_by.data.classes == meta.config.data.classes ?
            ")" :
            ", other --classes)");
    check(
        images.size() == trace.num_samples,
        "expected ",
        trace.num_samples,
        " images for the trace, got ",
        images.size());
    std::vector<int64_t> picked = analysis::destructive_samples(trace);
    if (static_cast<int64_t>(picked.size()) > count) {
      picked.resize(static_cast<size_t>(count));
    }
    const bool found = !picked.empty();
    for (int64_t n = 0; !found && n < std::min(count, trace.num_samples); ++n) {
      picked.push_back(n);
    }
    const data::Dataset chosen = data::subset(images, picked);
    network->eval();
    const inference::GradCam cam = cams(network, chosen, info, false, "cpu");
    report::ImageGrid grid;
    grid.title = "Grad-CAM per exit";
    grid.description = str_cat(
        found ? "Samples some internal classifier gets right and the final "
                "exit gets wrong (destructive overthinking). " :
                "The split's first samples (no sample here is right at an IC "
                "and wrong at the final exit). ",
        "Each row: the image, then for every exit (IC1 first, the final "
        "exit last) the Grad-CAM map of that exit's prediction over it, "
        "blue (no weight) to red (most). Caption: true class, then each "
        "exit's prediction.");
    const int64_t scale = info.side <= 32 ? 2 : 1;
    for (size_t s = 0; s < picked.size(); ++s) {
      const auto i = static_cast<int64_t>(s);
      std::string caption =
          class_name(info, trace.labels[static_cast<size_t>(picked[s])]) + ":";
      for (int64_t e = 0; e < trace.num_exits; ++e) {
        caption +=
            " " + class_name(info, cam.predictions[i][e].item<int64_t>());
      }
      grid.tiles.push_back(
          {grad_cam_png(
               chosen.images.narrow(0, i, 1), cam.maps.narrow(0, i, 1), scale),
           caption});
    }
    return grid;
  } catch (const std::exception& e) {
    why = e.what();
    return std::nullopt;
  }
}

void append_grad_cam_grid(
    std::vector<report::ImageGrid>& grids,
    const analysis::ExitTrace& trace,
    const std::string& checkpoint,
    const data::Dataset& images,
    const data::DatasetInfo& info,
    int64_t count) {
  if (count <= 0) {
    return;
  }
  std::string why;
  if (auto grid = grad_cam_grid(trace, checkpoint, images, info, count, why)) {
    grids.push_back(std::move(*grid));
  } else {
    std::fprintf(stderr, "warning: no Grad-CAM grid: %s\n", why.c_str());
  }
}

} // namespace sdn::app
