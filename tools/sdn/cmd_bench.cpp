// `sdn bench`: speed benchmarks (training step, early exit). Results to
// stdout (table or --json); they are measured, never asserted.
#include "commands.h"

#include "sdn/train/bench.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace sdn::cli {

namespace {

struct BenchTrainCli {
  train::TrainBenchOptions options;
  bool compare = true;
  bool json = false;
};

void run_bench_train(const BenchTrainCli& cli) {
  apply_global_options();
  nlohmann::json out = nlohmann::json::array();
  auto run = [&](bool channels_last, const char* name) {
    auto o = cli.options;
    o.channels_last = channels_last;
    const auto r = train::bench_train_step(o);
    out.push_back(
        {{"variant", name},
         {"arch", o.arch},
         {"sdn", o.with_ics},
         {"batch_size", o.batch_size},
         {"images_per_second", r.images_per_second},
         {"median_images_per_second", r.median}});
    return r.median;
  };
  const double optimised =
      run(cli.options.channels_last,
          cli.options.channels_last ? "channels-last" : "nchw");
  double plain = 0;
  if (cli.compare && cli.options.channels_last) {
    plain = run(false, "nchw (plain)");
  }
  if (cli.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf(
      "%-16s %-10s %5s %6s %12s\n",
      "variant",
      "arch",
      "sdn",
      "batch",
      "median img/s");
  for (const auto& row : out) {
    std::printf(
        "%-16s %-10s %5s %6lld %12.1f\n",
        row["variant"].get<std::string>().c_str(),
        row["arch"].get<std::string>().c_str(),
        row["sdn"].get<bool>() ? "yes" : "no",
        static_cast<long long>(row["batch_size"].get<int64_t>()),
        row["median_images_per_second"].get<double>());
  }
  if (plain > 0) {
    std::printf("speed-up over plain NCHW: %.2fx\n", optimised / plain);
  }
}

} // namespace

void setup_bench_exit(CLI::App& bench);

void setup_bench(CLI::App& app) {
  auto* bench = app.add_subcommand(
      "bench", "Speed benchmarks: medians of repeated, warmed-up runs.");
  bench->require_subcommand(1);

  auto cli = std::make_shared<BenchTrainCli>();
  auto* t = bench->add_subcommand(
      "train",
      "Images/s of full SDN-training steps (forward through every exit, "
      "weighted loss, backward, SGD) on a random batch, optimised "
      "(channels-last) and plain (NCHW) in the same process.\n"
      "Example: sdn bench train --arch resnet56 --batch-size 128");
  auto& o = cli->options;
  t->add_option("--arch", o.arch, "vgg16, resnet56, wrn32_4, mobilenet")
      ->capture_default_str();
  t->add_flag("!--cnn", o.with_ics, "Benchmark the plain CNN instead");
  t->add_option("--batch-size", o.batch_size, "Batch size")
      ->capture_default_str();
  t->add_option("--side", o.side, "Input side (32 or 64)")
      ->capture_default_str();
  t->add_option("--channels", o.channels, "Input channels")
      ->capture_default_str();
  t->add_option("--classes", o.classes, "Classes")->capture_default_str();
  t->add_option("--steps", o.steps, "Timed steps per repetition")
      ->capture_default_str();
  t->add_option("--repetitions", o.repetitions, "Repetitions (median)")
      ->capture_default_str();
  t->add_option("--warmup", o.warmup_steps, "Untimed steps first")
      ->capture_default_str();
  t->add_flag("!--no-channels-last", o.channels_last, "Benchmark NCHW only");
  t->add_flag(
      "!--no-compare", cli->compare, "Skip the plain NCHW comparison run");
  t->add_option("--device", o.device, "cpu or cuda")->capture_default_str();
  t->add_flag("--json", cli->json, "JSON output");
  t->callback([cli] { run_bench_train(*cli); });

  setup_bench_exit(*bench);
}

} // namespace sdn::cli
