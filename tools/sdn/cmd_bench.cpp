// `sdn bench`: speed benchmarks (training step, early exit). Results to
// stdout (table or --json); they are measured, never asserted.
#include "commands.h"
#include "option_checks.h"

#include "sdn/train/bench.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace sdn::cli {

namespace {

struct BenchTrainCli {
  train::TrainBenchOptions options;
  bool compare = true;
  int64_t rounds = 1;
  bool json = false;
};

void run_bench_train(const BenchTrainCli& cli) {
  apply_global_options();
  // The plain step has none of the optimisations: NCHW, zeroed gradients,
  // the BLAS's own thread count.
  std::vector<train::TrainBenchOptions> variants = {cli.options};
  std::vector<std::string> names = {"optimised"};
  if (cli.compare) {
    auto plain = cli.options;
    plain.channels_last = false;
    plain.set_to_none = false;
    plain.library_blas_threads = true;
    variants.push_back(plain);
    names.emplace_back("plain");
  }
  const auto results = train::bench_train_variants(variants, cli.rounds);
  nlohmann::json out = nlohmann::json::array();
  for (size_t v = 0; v < variants.size(); ++v) {
    const auto& o = variants[v];
    out.push_back(
        {{"variant", names[v]},
         {"arch", o.arch},
         {"sdn", o.with_ics},
         {"batch_size", o.batch_size},
         {"channels_last", o.channels_last},
         {"set_to_none", o.set_to_none},
         {"threads", at::get_num_threads()},
         {"blas_threads", results[v].blas_threads},
         {"images_per_second", results[v].images_per_second},
         {"median_images_per_second", results[v].median}});
  }
  const double optimised = results[0].median;
  const double plain = results.size() > 1 ? results[1].median : 0.0;
  if (cli.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf(
      "%lld threads, %lld round(s)\n",
      static_cast<long long>(at::get_num_threads()),
      static_cast<long long>(cli.rounds));
  std::printf(
      "%-16s %-10s %5s %6s %5s %12s\n",
      "variant",
      "arch",
      "sdn",
      "batch",
      "blas",
      "median img/s");
  for (const auto& row : out) {
    const int blas = row["blas_threads"].get<int>();
    std::printf(
        "%-16s %-10s %5s %6lld %5s %12.1f\n",
        row["variant"].get<std::string>().c_str(),
        row["arch"].get<std::string>().c_str(),
        row["sdn"].get<bool>() ? "yes" : "no",
        static_cast<long long>(row["batch_size"].get<int64_t>()),
        blas > 0 ? std::to_string(blas).c_str() : "?",
        row["median_images_per_second"].get<double>());
  }
  if (plain > 0) {
    std::printf("speed-up over plain: %.2fx\n", optimised / plain);
  }
}

} // namespace

void setup_bench_exit(CLI::App& bench);
void setup_bench_serve(CLI::App& bench);

void setup_bench(CLI::App& app) {
  auto* bench = app.add_subcommand(
      "bench", "Speed benchmarks: medians of repeated, warmed-up runs.");
  bench->require_subcommand(1);

  auto cli = std::make_shared<BenchTrainCli>();
  auto* t = bench->add_subcommand(
      "train",
      "Images/s of full SDN-training steps (forward through every exit, "
      "weighted loss, backward, SGD) on a random batch, optimised "
      "(channels-last unless --no-channels-last, gradients dropped instead of "
      "zeroed unless --zero-grad, single-threaded BLAS unless --threaded-blas) "
      "and plain (NCHW, zeroed gradients, the BLAS's default threads) in the "
      "same process.\n"
      "Example: sdn bench train --arch resnet56 --batch-size 128");
  auto& o = cli->options;
  t->add_option("--arch", o.arch, "vgg16, resnet56, wrn32_4, mobilenet")
      ->capture_default_str();
  t->add_flag("!--cnn", o.with_ics, "Benchmark the plain CNN instead");
  t->add_option("--batch-size", o.batch_size, "Batch size")
      ->capture_default_str()
      ->check(at_least(1));
  t->add_option("--side", o.side, "Input side (32 or 64)")
      ->capture_default_str()
      ->check(at_least(1));
  t->add_option("--channels", o.channels, "Input channels")
      ->capture_default_str()
      ->check(at_least(1));
  t->add_option("--classes", o.classes, "Classes")
      ->capture_default_str()
      ->check(at_least(2));
  t->add_option("--steps", o.steps, "Timed steps per repetition")
      ->capture_default_str()
      ->check(at_least(1));
  t->add_option("--repetitions", o.repetitions, "Repetitions (median)")
      ->capture_default_str()
      ->check(at_least(1));
  t->add_option("--warmup", o.warmup_steps, "Untimed steps first")
      ->capture_default_str()
      ->check(at_least(0));
  t->add_option(
       "--rounds",
       cli->rounds,
       "Alternate the optimised and plain runs this many times; medians "
       "pool all repetitions")
      ->capture_default_str()
      ->check(at_least(1));
  t->add_flag("!--no-channels-last", o.channels_last, "Optimised run in NCHW");
  t->add_flag(
      "!--zero-grad",
      o.set_to_none,
      "Optimised run zeroes gradients instead of dropping them");
  t->add_flag(
      "--threaded-blas",
      o.library_blas_threads,
      "Optimised run keeps the BLAS's default thread count");
  t->add_flag("!--no-compare", cli->compare, "Skip the plain comparison run");
  t->add_option("--device", o.device, "cpu or cuda")->capture_default_str();
  t->add_flag("--json", cli->json, "JSON output");
  t->callback([cli] { run_bench_train(*cli); });

  setup_bench_exit(*bench);
  setup_bench_serve(*bench);
}

} // namespace sdn::cli
