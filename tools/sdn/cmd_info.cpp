// `sdn info`: per-exit costs, IC shapes and parameters of an SDN.
#include "commands.h"

#include "sdn/data/dataset.h"
#include "sdn/network/network_info.h"
#include "sdn/util/error.h"

#include <cstdio>
#include <memory>
#include <string>

namespace sdn::cli {

namespace {

struct InfoOptions {
  std::string arch;
  std::string dataset;
  std::string counting = "paper";
  bool json = false;
};

void run_info(const InfoOptions& o) {
  check(
      o.dataset != "folder",
      "--dataset folder: sdn info takes the input shape and classes of a "
      "named data set (an image folder's are its own); use one of the same "
      "shape: cifar10 (3x32x32), cifar100 (3x32x32, 100 classes), "
      "tiny-imagenet (3x64x64), fashion-mnist (1x32x32)");
  data::DataOptions data_options;
  data_options.name = o.dataset;
  const data::DatasetInfo data = data::dataset_info(data_options);
  network::NetworkOptions options;
  options.backbone.arch = o.arch;
  options.backbone.in_channels = data.channels;
  options.backbone.input_side = data.side;
  options.backbone.num_classes = data.num_classes;
  const auto counting = network::parse_counting(o.counting);
  const auto info = network::network_info(options, o.dataset, counting);
  if (o.json) {
    std::printf("%s\n", network::to_json(info).dump(2).c_str());
  } else {
    std::fputs(network::format_table(info).c_str(), stdout);
  }
}

} // namespace

void setup_info(CLI::App& app) {
  auto options = std::make_shared<InfoOptions>();
  auto* sub = app.add_subcommand(
      "info",
      "Print an SDN's exits: cumulative cost per image (absolute and % of the "
      "CNN), each IC's input shape, pooled features and parameters, and the "
      "CNN and SDN totals. Costs are operations under the original "
      "profiler's rules (--counting paper, GOps) or multiply-accumulates "
      "(--counting exact, GMACs; in --json: per image, relative_cost as a "
      "fraction).\nExample: sdn info --arch resnet56 --dataset cifar10");
  sub->add_option(
         "--arch", options->arch, "vgg16, resnet56, wrn32_4, mobilenet")
      ->required();
  sub->add_option(
         "--dataset",
         options->dataset,
         "Data set giving input shape and classes (e.g. cifar10, "
         "tiny-imagenet)")
      ->required();
  sub->add_option("--counting", options->counting, "paper or exact")
      ->capture_default_str();
  sub->add_flag("--json", options->json, "Print JSON instead of a table");
  sub->callback([options] {
    apply_global_options();
    run_info(*options);
  });
}

} // namespace sdn::cli
