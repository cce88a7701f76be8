// `sdn data info` and `sdn data show`: what a data set holds, as numbers and
// as a picture.
#include "commands.h"
#include "data_options.h"
#include "option_checks.h"

#include "sdn/data/grid.h"
#include "sdn/data/stats.h"
#include "sdn/util/error.h"
#include "sdn/util/png.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace sdn::cli {

namespace {

// Above this many classes the table summarises the label histogram.
constexpr size_t kMaxListedClasses = 20;

struct DataInfoOptions {
  data::DataOptions data;
  bool json = false;
};

struct DataShowOptions {
  data::DataOptions data;
  std::string split = "train";
  std::string out;
  int64_t count = 64;
  int64_t scale = 2;
};

std::string join(const std::vector<double>& values) {
  std::string out;
  char buffer[32];
  for (double v : values) {
    std::snprintf(buffer, sizeof(buffer), "%.4f", v);
    out += (out.empty() ? "" : " ") + std::string(buffer);
  }
  return out;
}

// "k name" of class k.
std::string class_text(const data::DatasetInfo& info, int64_t k) {
  return std::to_string(k) + " " + info.class_names.at(static_cast<size_t>(k));
}

// "0 T-shirt/top, 1 Trouser, ..." (the first kMaxListedClasses).
std::string classes_text(const data::DatasetInfo& info) {
  std::string out;
  for (int64_t k = 0;
       k < info.num_classes && k < static_cast<int64_t>(kMaxListedClasses);
       ++k) {
    out += (k == 0 ? "" : ", ") + class_text(info, k);
  }
  if (info.num_classes > static_cast<int64_t>(kMaxListedClasses)) {
    out += ", ... (" + std::to_string(info.num_classes) + " classes)";
  }
  return out;
}

std::string histogram_text(
    const std::vector<int64_t>& counts,
    const data::DatasetInfo& info) {
  std::string out;
  if (counts.size() <= kMaxListedClasses) {
    for (int64_t c : counts) {
      out += (out.empty() ? "" : " ") + std::to_string(c);
    }
    return out;
  }
  const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
  return "min " + std::to_string(*lo) + " (class " +
      class_text(info, lo - counts.begin()) + "), max " + std::to_string(*hi) +
      " (class " + class_text(info, hi - counts.begin()) + ")";
}

void run_data_info(const DataInfoOptions& options) {
  const data::Splits splits = data::load_splits(options.data);
  nlohmann::json json;
  json["dataset"] = splits.info.name;
  json["class_names"] = splits.info.class_names;
  json["normalisation"] = {
      {"mean", splits.info.mean}, {"std", splits.info.std}};
  json["splits"] = nlohmann::json::object();
  std::string table;
  const std::pair<const char*, const data::Dataset*> parts[] = {
      {"train", &splits.train}, {"val", &splits.val}, {"test", &splits.test}};
  char line[256];
  std::snprintf(
      line,
      sizeof(line),
      "%-6s %8s %8s %-10s %-22s %s\n",
      "split",
      "count",
      "classes",
      "shape",
      "mean",
      "std");
  table += line;
  std::string labels;
  for (const auto& [name, dataset] : parts) {
    if (dataset->size() == 0) {
      continue;
    }
    const auto stats = data::split_stats(*dataset, splits.info.num_classes);
    json["splits"][name] = {
        {"count", stats.count},
        {"classes", splits.info.num_classes},
        {"shape", stats.shape},
        {"label_counts", stats.label_counts},
        {"mean", stats.mean},
        {"std", stats.std}};
    const std::string shape = std::to_string(stats.shape[0]) + "x" +
        std::to_string(stats.shape[1]) + "x" + std::to_string(stats.shape[2]);
    std::snprintf(
        line,
        sizeof(line),
        "%-6s %8lld %8lld %-10s %-22s %s\n",
        name,
        static_cast<long long>(stats.count),
        static_cast<long long>(splits.info.num_classes),
        shape.c_str(),
        join(stats.mean).c_str(),
        join(stats.std).c_str());
    table += line;
    labels += std::string(name) +
        " labels: " + histogram_text(stats.label_counts, splits.info) + "\n";
  }
  if (options.json) {
    std::printf("%s\n", json.dump(2).c_str());
  } else {
    const std::vector<double> mean(
        splits.info.mean.begin(), splits.info.mean.end());
    const std::vector<double> std(
        splits.info.std.begin(), splits.info.std.end());
    std::printf(
        "dataset %s (pixels in [0,1], before normalisation)\n%s%s"
        "classes: %s\nnormalisation: mean %s, std %s\n",
        splits.info.name.c_str(),
        table.c_str(),
        labels.c_str(),
        classes_text(splits.info).c_str(),
        join(mean).c_str(),
        join(std).c_str());
  }
}

void run_data_show(const DataShowOptions& options) {
  check(
      options.split == "train" || options.split == "val" ||
          options.split == "test",
      "--split must be train, val or test, got '",
      options.split,
      "'");
  check(!options.out.empty(), "--out is required");
  const data::Splits splits = data::load_splits(options.data);
  const data::Dataset& split = options.split == "train" ? splits.train :
      options.split == "val"                            ? splits.val :
                                                          splits.test;
  check(
      split.size() > 0,
      "the ",
      options.split,
      " split is empty",
      options.split == "val" ? " (--val-size 0?)" : "");
  const auto grid = data::sample_grid(split, options.count, options.scale);
  write_png(options.out, grid.pixels, grid.width, grid.height, 3);
  std::fprintf(
      stderr,
      "wrote %s: %lld %s samples of %s, labelled by class number: %s\n",
      options.out.c_str(),
      static_cast<long long>(std::min(options.count, split.size())),
      options.split.c_str(),
      splits.info.name.c_str(),
      classes_text(splits.info).c_str());
}

} // namespace

void setup_data(CLI::App& app) {
  auto* data = app.add_subcommand(
      "data",
      "Inspect data sets: counts, label histograms and pixel statistics "
      "(info), or a picture of samples (show).\nExample: sdn data info "
      "--dataset fashion-mnist");
  data->require_subcommand(1);

  auto info_options = std::make_shared<DataInfoOptions>();
  auto* info = data->add_subcommand(
      "info",
      "Per split (train, val, test): sample count, classes, image shape, "
      "label histogram, per-channel mean and std of the pixels in [0,1] "
      "before normalisation. A table, or one JSON object with --json.\n"
      "Example: sdn data info --dataset fashion-mnist --json");
  add_data_options(info, info_options->data);
  info->add_flag("--json", info_options->json, "Print one JSON object");
  info->callback([info, info_options] {
    check_data_options(*info, info_options->data);
    apply_global_options();
    run_data_info(*info_options);
  });

  auto show_options = std::make_shared<DataShowOptions>();
  auto* show = data->add_subcommand(
      "show",
      "Write a PNG grid of the first --count samples of a split (no "
      "augmentation). Each tile shows the image enlarged --scale times, and "
      "under it, in white digits on a black strip, its label index (see "
      "`sdn data info` for the class order).\nExample: sdn data show "
      "--dataset fashion-mnist --split test --out grid.png");
  add_data_options(show, show_options->data);
  show->add_option("--split", show_options->split, "train, val or test")
      ->capture_default_str();
  show->add_option("--out", show_options->out, "PNG file to write")->required();
  show->add_option("--count", show_options->count, "Samples to show")
      ->capture_default_str()
      ->check(at_least(1));
  show->add_option("--scale", show_options->scale, "Enlargement (1-16)")
      ->capture_default_str()
      ->check(in_range(1, 16));
  show->callback([show, show_options] {
    check_data_options(*show, show_options->data);
    reject_given(
        *show,
        {"--mean", "--std"},
        "with sdn data show (it draws the pixels before normalisation)");
    apply_global_options();
    run_data_show(*show_options);
  });
}

} // namespace sdn::cli
