#include "sdn/app/image_grids.h"

#include "sdn/analysis/overthinking.h"
#include "sdn/data/trigger.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/util/error.h"
#include "sdn/util/png.h"

#include <torch/torch.h>

namespace sdn::app {

std::string image_png(
    const data::Dataset& images,
    int64_t index,
    int64_t scale) {
  const auto img = images.images[index].contiguous(); // [C, H, W] uint8
  const int64_t c = img.size(0);
  const int64_t h = img.size(1);
  const int64_t w = img.size(2);
  const auto* p = img.data_ptr<uint8_t>();
  std::vector<uint8_t> out(static_cast<size_t>(h * scale * w * scale * c));
  for (int64_t y = 0; y < h * scale; ++y) {
    for (int64_t x = 0; x < w * scale; ++x) {
      for (int64_t k = 0; k < c; ++k) {
        out[static_cast<size_t>((y * w * scale + x) * c + k)] =
            p[(k * h + y / scale) * w + x / scale];
      }
    }
  }
  return encode_png(out, w * scale, h * scale, c);
}

std::string class_name(const data::DatasetInfo& info, int64_t k) {
  if (k >= 0 && k < static_cast<int64_t>(info.class_names.size())) {
    return info.class_names[static_cast<size_t>(k)];
  }
  return std::to_string(k);
}

namespace {

std::string exit_name(const analysis::ExitTrace& trace, int64_t e) {
  return e == trace.final_exit() ? "the final exit" : str_cat("IC", e + 1);
}

} // namespace

std::vector<report::ImageGrid> make_image_grids(
    const analysis::ExitTrace& trace,
    const data::Dataset& images,
    const data::DatasetInfo& info,
    int64_t per_grid) {
  check(
      images.size() == trace.num_samples,
      "images: expected ",
      trace.num_samples,
      " samples for the trace, got ",
      images.size());
  // 32-px images upscaled x3 read well beside the plots.
  const int64_t scale = info.side <= 32 ? 3 : 2;
  std::vector<report::ImageGrid> grids;
  if (trace.num_ics() == 0) {
    return grids;
  }
  const auto first = analysis::first_correct_exit(trace);
  report::ImageGrid by_exit;
  by_exit.title = "Samples first classified correctly at each exit";
  by_exit.description =
      "Per exit, the first samples of the split that this exit is the "
      "shallowest to get right: simple inputs leave early, complex ones need "
      "depth (the paper's figure).";
  for (int64_t e = 0; e < trace.num_exits; ++e) {
    int64_t shown = 0;
    for (int64_t n = 0; n < trace.num_samples && shown < per_grid; ++n) {
      if (first[static_cast<size_t>(n)] != e) {
        continue;
      }
      by_exit.tiles.push_back(
          {image_png(images, n, scale),
           str_cat(
               exit_name(trace, e),
               ": ",
               class_name(info, trace.labels[static_cast<size_t>(n)]))});
      ++shown;
    }
  }
  grids.push_back(std::move(by_exit));

  report::ImageGrid only_first;
  only_first.title = "Samples only IC1 gets right";
  only_first.description =
      "Destructive overthinking at its starkest: the first internal "
      "classifier is right, every later exit (the final one included) is "
      "wrong. Caption: true class, then the final exit's answer.";
  const auto only = analysis::only_first_ic_correct(trace);
  for (size_t i = 0; i < only.size() && static_cast<int64_t>(i) < per_grid * 2;
       ++i) {
    const int64_t n = only[i];
    only_first.tiles.push_back(
        {image_png(images, n, scale),
         str_cat(
             class_name(info, trace.labels[static_cast<size_t>(n)]),
             " / final: ",
             class_name(info, trace.prediction(n, trace.final_exit())))});
  }
  grids.push_back(std::move(only_first));
  return grids;
}

std::optional<data::Dataset> trace_images(
    const analysis::ExitTrace& trace,
    data::DatasetInfo& info,
    std::string& why) {
  try {
    const inference::TraceProvenance provenance =
        inference::read_provenance(trace.meta, "the trace's meta.json");
    const auto splits = data::load_splits(provenance.data);
    info = splits.info;
    check(
        trace.split == "train" || trace.split == "val" || trace.split == "test",
        "the trace's meta.json: 'split' must be train, val or test to reload "
        "its images, got '",
        trace.split,
        "'");
    check(
        info.num_classes == trace.num_classes,
        "the data set has ",
        info.num_classes,
        " classes, the trace ",
        trace.num_classes);
    data::Dataset images = inference::select_split(splits, trace.split);
    const int64_t max_samples = provenance.max_samples;
    if (max_samples > 0 && max_samples < images.size()) {
      images.images = images.images.narrow(0, 0, max_samples);
      images.labels = images.labels.narrow(0, 0, max_samples);
    }
    check(
        images.size() == trace.num_samples,
        "the data set now has ",
        images.size(),
        " samples in this split, the trace ",
        trace.num_samples);
    const auto labels = images.labels.contiguous();
    const int64_t* label = labels.data_ptr<int64_t>();
    for (int64_t n = 0; n < trace.num_samples; ++n) {
      check(
          label[n] == trace.labels[static_cast<size_t>(n)],
          "the data set's label of sample ",
          n,
          " is ",
          label[n],
          ", the trace's ",
          trace.labels[static_cast<size_t>(n)],
          ": the trace was made from other images");
    }
    if (provenance.trigger) {
      images.images = data::apply_trigger(images.images, *provenance.trigger);
    }
    return images;
  } catch (const std::exception& e) {
    why = e.what();
    return std::nullopt;
  }
}

} // namespace sdn::app
