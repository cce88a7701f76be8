// `sdn exit`: real early exit, block by block, removing exited samples from
// the batch; and `sdn bench exit`, its wall-clock benchmark.
#include "commands.h"

#include "sdn/analysis/early_exit.h"
#include "sdn/analysis/exit_trace.h"
#include "sdn/checkpoint/checkpoint.h"
#include "sdn/data/loader.h"
#include "sdn/inference/bench.h"
#include "sdn/inference/early_exit.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/util/error.h"

#include <nlohmann/json.hpp>

#include <ATen/Parallel.h>

#include <cstdio>
#include <memory>

namespace sdn::cli {

namespace {

struct ExitCli {
  std::string checkpoint;
  std::string split = "test";
  std::string data_dir;
  double threshold = -1;
  double budget = -1;
  std::string val_trace;
  std::string no_exit = "most-confident";
  inference::EarlyExitOptions options;
  bool json = false;
};

// The threshold to use: given, or picked on a validation trace for a budget.
double choose_threshold(const ExitCli& cli) {
  const bool by_threshold = cli.threshold >= 0;
  const bool by_budget = cli.budget >= 0;
  check(
      by_threshold != by_budget,
      "give exactly one of --threshold and --budget");
  if (by_threshold) {
    return cli.threshold;
  }
  check(
      !cli.val_trace.empty(),
      "--budget needs --val-trace (a validation trace from sdn eval)");
  check(cli.budget > 0, "--budget must be > 0, got ", cli.budget);
  const auto val = analysis::read_trace(cli.val_trace);
  return analysis::threshold_for_budget(
      val, cli.budget, analysis::parse_no_exit_rule(cli.no_exit));
}

void run_exit(ExitCli& cli) {
  apply_global_options();
  cli.options.no_exit = analysis::parse_no_exit_rule(cli.no_exit);
  const double q = choose_threshold(cli);
  checkpoint::CheckpointMeta meta;
  auto network = checkpoint::load_network(cli.checkpoint, meta);
  check(
      network->num_ics() > 0,
      "--checkpoint ",
      cli.checkpoint,
      ": early exit needs an SDN (a checkpoint with ICs), got a CNN");
  auto config = meta.config;
  if (!cli.data_dir.empty()) {
    config.data.data_dir = cli.data_dir;
  }
  const auto splits = data::load_splits(config.data);
  const auto& dataset = inference::select_split(splits, cli.split);
  const inference::MaxProbabilityPolicy policy(q);
  const auto costs = inference::relative_exit_costs(network, false);
  const auto r = inference::run_early_exit(
      network, dataset, splits.info, policy, costs, cli.options);
  if (cli.json) {
    nlohmann::json j = {
        {"threshold", q},
        {"accuracy", r.accuracy},
        {"cost", r.cost},
        {"exit_counts", r.exit_counts},
        {"seconds", r.seconds},
        {"images_per_second", r.images_per_second},
        {"batch_size", cli.options.batch_size}};
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf(
      "early exit: %s, batch size %lld, %s split (%lld images)\n",
      policy.describe().c_str(),
      static_cast<long long>(cli.options.batch_size),
      cli.split.c_str(),
      static_cast<long long>(dataset.size()));
  std::printf("accuracy        %.2f %%\n", r.accuracy);
  std::printf(
      "relative cost   %.3f of the CNN (FLOPs, paper counting)\n", r.cost);
  std::printf(
      "wall-clock      %.3f s, %.1f images/s\n",
      r.seconds,
      r.images_per_second);
  std::printf("%-8s %8s %8s %9s\n", "exit", "samples", "share", "cost");
  const auto n = static_cast<double>(dataset.size());
  for (size_t e = 0; e < r.exit_counts.size(); ++e) {
    const bool final = e + 1 == r.exit_counts.size();
    const std::string name = final ? "final" : "IC" + std::to_string(e + 1);
    std::printf(
        "%-8s %8lld %7.1f%% %9.3f\n",
        name.c_str(),
        static_cast<long long>(r.exit_counts[e]),
        n > 0 ? 100.0 * r.exit_counts[e] / n : 0.0,
        costs[e]);
  }
}

struct BenchExitCli {
  std::string checkpoint;
  std::string split = "test";
  std::string data_dir;
  inference::ExitBenchOptions options;
  int64_t stages = 0;
  bool json = false;
};

void print_stages(
    const inference::ExitBenchOptions& options,
    const std::vector<inference::StageRow>& rows,
    int64_t batch_size,
    bool json) {
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : rows) {
      j.push_back(
          {{"exit", r.exit},
           {"seconds", r.seconds},
           {"cumulative_time", r.cumulative_time},
           {"cumulative_cost", r.cumulative_cost}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf(
      "stages at batch %lld (%s, %s), no sample exits; cumulative vs the "
      "CNN's forward\n",
      static_cast<long long>(batch_size),
      options.fold_batch_norm ? "BN folded" : "BN unfolded",
      options.channels_last ? "channels-last" : "NCHW");
  std::printf(
      "%-8s %12s %14s %14s\n",
      "exit",
      "stage ms",
      "time vs CNN",
      "FLOPs vs CNN");
  for (const auto& r : rows) {
    const bool final = r.exit + 1 == static_cast<int64_t>(rows.size());
    const std::string name =
        final ? "final" : "IC" + std::to_string(r.exit + 1);
    std::printf(
        "%-8s %12.2f %14.3f %14.3f\n",
        name.c_str(),
        1e3 * r.seconds,
        r.cumulative_time,
        r.cumulative_cost);
  }
}

void run_bench_exit(const BenchExitCli& cli) {
  apply_global_options();
  checkpoint::CheckpointMeta meta;
  auto network = checkpoint::load_network(cli.checkpoint, meta);
  auto config = meta.config;
  if (!cli.data_dir.empty()) {
    config.data.data_dir = cli.data_dir;
  }
  const auto splits = data::load_splits(config.data);
  const auto& dataset = inference::select_split(splits, cli.split);
  const int64_t count = std::min(
      dataset.size(),
      std::max(cli.options.samples, cli.options.samples_batch1));
  const auto images =
      data::normalize(dataset.images.narrow(0, 0, count), splits.info);
  const auto costs = inference::relative_exit_costs(network, false);
  if (cli.stages > 0) {
    const auto rows = inference::bench_stages(
        network, images, costs, cli.stages, cli.options);
    print_stages(cli.options, rows, cli.stages, cli.json);
    return;
  }
  const auto rows = inference::bench_exit(network, images, costs, cli.options);
  if (cli.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : rows) {
      j.push_back(
          {{"variant", r.variant},
           {"build", r.build},
           {"batch_size", r.batch_size},
           {"images_per_second", r.images_per_second},
           {"relative_time", r.relative_time},
           {"relative_cost", r.relative_cost},
           {"speedup_over_plain", r.speedup_over_plain},
           {"runs", r.runs}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf(
      "threshold %.3f, %s, %lld threads; optimised build: %s, %s\n",
      cli.options.threshold,
      meta.arch.c_str(),
      static_cast<long long>(at::get_num_threads()),
      cli.options.fold_batch_norm ? "BN folded" : "BN unfolded",
      cli.options.channels_last ? "channels-last" : "NCHW");
  std::printf(
      "%-14s %-10s %6s %12s %12s %13s %10s\n",
      "variant",
      "build",
      "batch",
      "images/s",
      "time vs CNN",
      "FLOPs vs CNN",
      "vs plain");
  for (const auto& r : rows) {
    std::printf(
        "%-14s %-10s %6lld %12.1f %12.3f %13.3f",
        r.variant.c_str(),
        r.build.c_str(),
        static_cast<long long>(r.batch_size),
        r.images_per_second,
        r.relative_time,
        r.relative_cost);
    if (r.speedup_over_plain > 0) {
      std::printf(" %9.2fx", r.speedup_over_plain);
    }
    std::printf("\n");
  }
}

} // namespace

void setup_exit(CLI::App& app) {
  auto cli = std::make_shared<ExitCli>();
  auto* sub = app.add_subcommand(
      "exit",
      "Real early exit: run an SDN block by block and drop the samples that "
      "exit at each IC from the batch, so later blocks compute only on the "
      "rest. Threshold given, or picked for a cost budget on a validation "
      "trace.\n"
      "Examples:\n"
      "  sdn exit --checkpoint runs/sdn/last --threshold 0.9\n"
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
  sub->add_option(
      "--threshold",
      cli->threshold,
      "Exit when the top softmax probability is >= this");
  sub->add_option(
      "--budget",
      cli->budget,
      "Pick the most accurate threshold whose average cost on "
      "--val-trace is at most this fraction of the CNN's");
  sub->add_option(
      "--val-trace", cli->val_trace, "Validation trace for --budget");
  sub->add_option(
         "--no-exit-rule",
         cli->no_exit,
         "Answer of samples no IC takes: most-confident (original) "
         "or final")
      ->capture_default_str();
  sub->add_option(
         "--batch-size",
         cli->options.batch_size,
         "Batch size (1 = one sample at a time)")
      ->capture_default_str();
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
      ->capture_default_str();
  sub->add_option("--batch-sizes", o.batch_sizes, "Batch sizes")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--samples", o.samples, "Images per timed pass")
      ->capture_default_str();
  sub->add_option(
         "--samples-batch1",
         o.samples_batch1,
         "Images per timed pass at batch size 1")
      ->capture_default_str();
  sub->add_option("--repetitions", o.repetitions, "Timed passes (median)")
      ->capture_default_str();
  sub->add_flag("!--no-channels-last", o.channels_last, "NCHW convolutions");
  sub->add_flag(
      "!--no-fuse",
      o.fold_batch_norm,
      "Keep BatchNorms separate (do not fold them into the convolutions)");
  sub->add_flag(
      "--compare",
      o.compare_plain,
      "Also time the plain build (BN unfolded, NCHW) in the same process");
  sub->add_option(
         "--stages",
         cli->stages,
         "Instead: time each stage of one full forward at this batch size "
         "(where the time goes, against FLOPs)")
      ->capture_default_str();
  sub->add_option("--device", o.device, "cpu or cuda[:N]")
      ->capture_default_str();
  sub->add_flag("--json", cli->json, "JSON output");
  sub->callback([cli] { run_bench_exit(*cli); });
}

} // namespace sdn::cli
