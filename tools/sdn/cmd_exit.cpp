// `sdn exit`: real early exit, block by block, removing exited samples from
// the batch; and `sdn bench exit`, its wall-clock benchmark.
#include "commands.h"
#include "option_checks.h"
#include "policy_options.h"

#include "sdn/analysis/early_exit.h"
#include "sdn/analysis/exit_policy.h"
#include "sdn/checkpoint/checkpoint.h"
#include "sdn/data/loader.h"
#include "sdn/inference/bench.h"
#include "sdn/inference/early_exit.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <utility>

namespace sdn::cli {

namespace {

struct ExitCli {
  std::string checkpoint;
  std::string split = "test";
  std::string data_dir;
  PolicyOptions policy;
  analysis::ExitPolicyRequest request; ///< policy.resolve() when run.
  inference::EarlyExitOptions options;
  bool json = false;
};

// Warnings (as sdn report gives) for a trace that chose or fitted the
// policy but belongs to another checkpoint, or to the very split exited on.
void warn_about_fit_traces(const ExitCli& cli) {
  namespace fs = std::filesystem;
  for (const auto& [dir, option] :
       {std::pair{cli.request.val_trace, "--val-trace"},
        std::pair{cli.request.train_trace, "--train-trace"}}) {
    if (dir.empty()) {
      continue;
    }
    const nlohmann::json meta = read_json(dir + "/meta.json");
    const std::string from = meta.value("checkpoint", std::string());
    std::error_code ea;
    std::error_code eb;
    const auto a = fs::weakly_canonical(from, ea);
    const auto b = fs::weakly_canonical(cli.checkpoint, eb);
    if (!from.empty() && (ea || eb ? from != cli.checkpoint : a != b)) {
      std::fprintf(
          stderr,
          "warning: %s %s comes from checkpoint %s, not %s\n",
          option,
          dir.c_str(),
          from.c_str(),
          cli.checkpoint.c_str());
    }
    if (meta.value("split", std::string()) == cli.split) {
      std::fprintf(
          stderr,
          "warning: %s %s is a trace of the %s split this run exits on: "
          "what it chose or fitted is measured on its own data\n",
          option,
          dir.c_str(),
          cli.split.c_str());
    }
  }
}

void run_exit(ExitCli& cli) {
  apply_global_options();
  cli.request = cli.policy.resolve();
  auto& request = cli.request;
  cli.options.no_exit = request.rule;
  cli.options.validate();
  checkpoint::CheckpointMeta meta;
  auto network = checkpoint::load_network(cli.checkpoint, meta);
  check(
      network->num_ics() > 0,
      "--checkpoint ",
      cli.checkpoint,
      ": early exit needs an SDN (a checkpoint with ICs), got a CNN");
  request.num_exits = network->num_exits();
  request.num_classes = meta.num_classes;
  const auto policy = analysis::resolve_exit_policy(request);
  warn_about_fit_traces(cli);
  auto config = meta.config;
  config.data = config.data.moved_to(cli.data_dir);
  const auto splits = data::load_splits(config.data);
  const auto& dataset = inference::select_split(splits, cli.split);
  const auto costs = inference::relative_exit_costs(network, false);
  const auto r = inference::run_early_exit(
      network, dataset, splits.info, *policy, costs, cli.options);
  if (cli.json) {
    std::cout << inference::early_exit_json(r).dump(2) << "\n";
  } else {
    inference::print_early_exit(std::cout, r, cli.split);
  }
}

struct BenchExitCli {
  std::string checkpoint;
  std::string split = "test";
  std::string data_dir;
  inference::ExitBenchOptions options;
  int64_t stages = 0;
  CLI::Option* stages_option = nullptr;
  const CLI::App* app = nullptr;
  bool json = false;
};

void run_bench_exit(const BenchExitCli& cli) {
  if (cli.stages_option->count() > 0) {
    reject_given(
        *cli.app,
        {"--threshold", "--batch-sizes", "--samples-batch1", "--compare"},
        "with --stages (one full forward at its batch size)");
  }
  const auto& sizes = cli.options.batch_sizes;
  if (std::find(sizes.begin(), sizes.end(), 1) == sizes.end()) {
    reject_given(
        *cli.app,
        {"--samples-batch1"},
        "without batch size 1 in --batch-sizes");
  }
  apply_global_options();
  checkpoint::CheckpointMeta meta;
  auto network = checkpoint::load_network(cli.checkpoint, meta);
  auto config = meta.config;
  config.data = config.data.moved_to(cli.data_dir);
  const auto splits = data::load_splits(config.data);
  const auto& dataset = inference::select_split(splits, cli.split);
  const int64_t count = std::min(
      dataset.size(),
      std::max(cli.options.samples, cli.options.samples_batch1));
  const auto images =
      data::normalize(dataset.images.narrow(0, 0, count), splits.info);
  const auto costs = inference::relative_exit_costs(network, false);
  if (cli.stages_option->count() > 0) {
    const auto rows = inference::bench_stages(
        network, images, costs, cli.stages, cli.options);
    if (cli.json) {
      std::cout << inference::stages_json(rows).dump(2) << "\n";
    } else {
      inference::print_stages(std::cout, rows, cli.options, cli.stages);
    }
    return;
  }
  const auto rows = inference::bench_exit(network, images, costs, cli.options);
  if (cli.json) {
    std::cout << inference::bench_exit_json(rows).dump(2) << "\n";
  } else {
    inference::print_bench_exit(
        std::cout, rows, cli.options, meta.arch, at::get_num_threads());
  }
}

} // namespace

void setup_exit(CLI::App& app) {
  auto cli = std::make_shared<ExitCli>();
  auto* sub = app.add_subcommand(
      "exit",
      "Real early exit: run an SDN block by block and drop the samples that "
      "exit at each IC from the batch, so later blocks compute only on the "
      "rest. An exit policy (max-prob, the paper's; entropy, patience, "
      "budget-fit, ensemble) at a given parameter, or at the parameter that "
      "fits a cost budget best on a validation trace. budget-fit and "
      "ensemble are fitted on traces (--val-trace, --train-trace).\n"
      "Examples:\n"
      "  sdn exit --checkpoint runs/sdn/last --threshold 0.9\n"
      "  sdn exit --checkpoint runs/sdn/last --policy entropy --param 0.2\n"
      "  sdn exit --checkpoint runs/sdn/last --policy patience --param 2\n"
      "  sdn exit --checkpoint runs/sdn/last --policy ensemble --param 0.9 "
      "--train-trace runs/sdn/trace-train\n"
      "  sdn exit --checkpoint runs/sdn/last --budget 0.5 --val-trace "
      "runs/sdn/trace-val --batch-size 1");
  sub->add_option("--checkpoint", cli->checkpoint, "SDN checkpoint directory")
      ->required();
  sub->add_option("--split", cli->split, "train, val or test")
      ->capture_default_str();
  sub->add_option(
      "--data-dir",
      cli->data_dir,
      "Data directory (default: the checkpoint's)");
  cli->policy.add_to(sub, "samples");
  sub->add_option(
         "--batch-size",
         cli->options.batch_size,
         "Batch size (1 = one sample at a time)")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option("--device", cli->options.device, "cpu or cuda[:N]")
      ->capture_default_str();
  sub->add_flag(
      "!--no-channels-last", cli->options.channels_last, "NCHW convolutions");
  sub->add_flag(
      "!--no-fuse",
      cli->options.fold_batch_norm,
      "Keep BatchNorms separate (do not fold them into the convolutions)");
  sub->add_flag("--json", cli->json, "JSON output");
  sub->callback([cli] { run_exit(*cli); });
}

void setup_bench_exit(CLI::App& bench) {
  auto cli = std::make_shared<BenchExitCli>();
  auto* sub = bench.add_subcommand(
      "exit",
      "Wall-clock of the plain CNN, the SDN with all exits and real early "
      "exit at batch sizes 1, 32 and 256, relative to the CNN, beside the "
      "FLOPs-relative cost. Warm-up, then the median of repetitions. "
      "--compare adds the plain build (BN unfolded, NCHW); --stages B "
      "shows where the time of one forward goes.\n"
      "Examples:\n"
      "  sdn bench exit --checkpoint runs/sdn/last --threshold 0.9 --compare\n"
      "  sdn bench exit --checkpoint runs/sdn/last --stages 256");
  auto& o = cli->options;
  sub->add_option("--checkpoint", cli->checkpoint, "SDN checkpoint directory")
      ->required();
  sub->add_option("--split", cli->split, "Images from this split")
      ->capture_default_str();
  sub->add_option(
      "--data-dir",
      cli->data_dir,
      "Data directory (default: the checkpoint's)");
  sub->add_option("--threshold", o.threshold, "Exit threshold")
      ->capture_default_str()
      ->check(in_range(0, 1));
  sub->add_option("--batch-sizes", o.batch_sizes, "Batch sizes")
      ->delimiter(',')
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option("--samples", o.samples, "Images per timed pass")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option(
         "--samples-batch1",
         o.samples_batch1,
         "Images per timed pass at batch size 1")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option("--repetitions", o.repetitions, "Timed passes (median)")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_flag("!--no-channels-last", o.channels_last, "NCHW convolutions");
  sub->add_flag(
      "!--no-fuse",
      o.fold_batch_norm,
      "Keep BatchNorms separate (do not fold them into the convolutions)");
  sub->add_flag(
      "--compare",
      o.compare_plain,
      "Also time the plain build (BN unfolded, NCHW) in the same process");
  cli->app = sub;
  cli->stages_option =
      sub->add_option(
             "--stages",
             cli->stages,
             "Instead: time each stage of one full forward at this batch size "
             "(where the time goes, against FLOPs)")
          ->check(at_least(1));
  sub->add_option("--device", o.device, "cpu or cuda[:N]")
      ->capture_default_str();
  sub->add_flag("--json", cli->json, "JSON output");
  sub->callback([cli] { run_bench_exit(*cli); });
}

} // namespace sdn::cli
