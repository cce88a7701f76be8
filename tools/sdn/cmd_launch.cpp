// `sdn launch`: the options of the local data-parallel launcher
// (app/launcher.h).
#include "commands.h"
#include "option_checks.h"

#include "sdn/app/launcher.h"
#include "sdn/util/error.h"

#include <memory>

namespace sdn::cli {

void setup_launch(CLI::App& app) {
  auto cli = std::make_shared<sdn::app::LaunchOptions>();
  auto* sub = app.add_subcommand(
      "launch",
      "Start N local processes of a data-parallel `sdn train` (one per "
      "rank, with WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT set), forward "
      "signals to them, and stop them all as soon as one fails.\n"
      "Examples:\n"
      "  sdn launch -n 2 -- train --arch resnet56 --dataset cifar10 --mode "
      "sdn --batch-size 64 --out runs/sdn\n"
      "  sdn launch -n 2 -- train --resume runs/sdn");
  sub->add_option("-n,--nproc", cli->nproc, "Processes (ranks) to start")
      ->required()
      ->check(at_least(1));
  sub->add_option(
         "--port",
         cli->port,
         "Rendezvous port on 127.0.0.1 (default: a free one)")
      ->capture_default_str()
      ->check(in_range(0, 65535));
  sub->add_option(
         "command",
         cli->arguments,
         "The sdn subcommand and its options, after --")
      ->required();
  sub->callback([cli] {
    // Only training runs data-parallel: the first word after the global
    // options (--threads N) must be `train`.
    const auto& args = cli->arguments;
    size_t i = 0;
    while (i < args.size() && args[i].rfind("--threads", 0) == 0) {
      i += args[i] == "--threads" ? 2 : 1;
    }
    check(
        i < args.size() && args[i] == "train",
        "launch starts data-parallel `sdn train` processes only; got `sdn ",
        i < args.size() ? args[i] : std::string(),
        "` after --");
    apply_global_options();
    sdn::app::LaunchOptions options = *cli;
    options.executable = sdn::app::self_executable();
    options.arguments = sdn::app::with_rank_threads(
        cli->arguments, global_options().threads, cli->nproc);
    sdn::app::launch(options);
  });
}

} // namespace sdn::cli
