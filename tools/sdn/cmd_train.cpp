// `sdn train`: trains a CNN, an SDN (SDN training) or ICs on a frozen CNN
// (IC-only training) into a self-describing checkpoint directory.
#include "commands.h"
#include "data_options.h"
#include "option_checks.h"

#include "sdn/app/train_console.h"
#include "sdn/train/trainer.h"
#include "sdn/util/error.h"

#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sdn::cli {

namespace {

struct TrainCli {
  checkpoint::TrainConfig config;
  train::DistributedOptions dist;
  CLI::Option* world_size_opt = nullptr;
  CLI::Option* rank_opt = nullptr;
  CLI::Option* master_opt = nullptr;
  std::string mode = "cnn";
  std::string lr_schedule = "step";
  std::string resume;
  // Overrides of the recipe; applied only when given.
  int64_t epochs = 0;
  double lr = 0;
  double weight_decay = 0;
  std::vector<int64_t> milestones;
  std::string optimizer;
  CLI::Option* epochs_opt = nullptr;
  CLI::Option* lr_opt = nullptr;
  CLI::Option* wd_opt = nullptr;
  CLI::Option* milestones_opt = nullptr;
  CLI::Option* optimizer_opt = nullptr;
  const CLI::App* app = nullptr;
};

// The environment (WORLD_SIZE, RANK, ..., as `sdn launch` and schedulers
// set it) under the flags given on the command line.
train::DistributedOptions distributed_options(const TrainCli& cli) {
  const auto env = train::distributed_options_from_env(cli.dist);
  auto d = cli.dist;
  if (cli.world_size_opt->count() == 0) {
    d.world_size = env.world_size;
  }
  if (cli.rank_opt->count() == 0) {
    d.rank = env.rank;
  }
  if (cli.master_opt->count() == 0) {
    d.master = env.master;
  }
  d.local_rank = env.local_rank;
  d.validate();
  return d;
}

void report(
    const train::TrainResult& result,
    const train::DistributedOptions& d) {
  if (d.rank != 0) {
    return;
  }
  std::fprintf(
      stderr,
      "checkpoint: %s (epoch %lld%s)\n",
      result.last_dir.c_str(),
      static_cast<long long>(result.epochs_done),
      result.finished ? ", finished" : "");
}

// The recipe options the user gave (counted by CLI11, so a value equal to
// the default still counts as given).
checkpoint::RecipeOverrides recipe_overrides(const TrainCli& cli) {
  checkpoint::RecipeOverrides o;
  if (cli.epochs_opt->count() > 0) {
    o.epochs = cli.epochs;
  }
  if (cli.lr_opt->count() > 0) {
    o.lr = cli.lr;
  }
  if (cli.wd_opt->count() > 0) {
    o.weight_decay = cli.weight_decay;
  }
  if (cli.milestones_opt->count() > 0) {
    o.milestones = cli.milestones;
  }
  if (cli.optimizer_opt->count() > 0) {
    o.optimizer = cli.optimizer;
  }
  return o;
}

// What `--resume` may change: how and where the run continues, never what
// it computes (docs/reliability.md#options).
const std::set<std::string> kResumeOptions = {
    "--resume",
    "--epochs",
    "--data-dir",
    "--device",
    "--stop-after",
    "--eval-batch-size",
    "--world-size",
    "--rank",
    "--master",
    "--dist-timeout",
    "--config"};

// Refuses every option given with --resume that cannot change there.
void check_resume_options(const CLI::App& sub) {
  std::string fixed;
  for (const CLI::Option* option : sub.get_options()) {
    if (option->count() > 0 && kResumeOptions.count(option->get_name()) == 0) {
      fixed += (fixed.empty() ? "" : ", ") + option->get_name();
    }
  }
  check(
      fixed.empty(),
      fixed,
      ": cannot change when resuming (the run continues with its saved "
      "configuration); --resume accepts --epochs (more epochs), --data-dir "
      "(the same data moved), --device, --stop-after, --eval-batch-size and "
      "the data-parallel options");
}

void run_train(TrainCli& cli) {
  const CLI::App& sub = *cli.app;
  if (!cli.resume.empty()) {
    check_resume_options(sub);
  } else {
    check_data_options(sub, cli.config.data);
    if (cli.config.poison_rate == 0) {
      reject_given(
          sub,
          {"--trigger-x", "--trigger-y", "--trigger-size", "--trigger-target"},
          "without --poison-rate (no sample is poisoned)");
    }
  }
  apply_global_options();
  const auto dist = distributed_options(cli);
  if (dist.world_size == 1) {
    reject_given(
        sub,
        {"--rank", "--master", "--dist-timeout"},
        "with one process (--world-size or $WORLD_SIZE 1)");
  }
  const train::TrainCallbacks console = {app::make_train_console()};
  if (!cli.resume.empty()) {
    train::ResumeOptions resume;
    resume.out_dir = cli.resume;
    resume.stop_after = cli.config.stop_after;
    resume.device = given(sub.get_option("--device"), cli.config.device);
    resume.epochs = given(sub.get_option("--epochs"), cli.epochs);
    resume.data_dir =
        given(sub.get_option("--data-dir"), cli.config.data.data_dir);
    resume.eval_batch_size =
        given(sub.get_option("--eval-batch-size"), cli.config.eval_batch_size);
    report(train::resume_training(resume, console, dist), dist);
    return;
  }
  cli.config.lr_schedule = checkpoint::parse_lr_schedule(cli.lr_schedule);
  if (cli.config.lr_schedule == checkpoint::LrSchedule::kCosine) {
    reject_given(
        sub,
        {"--milestones", "--gamma"},
        "with --lr-schedule cosine (the rate falls every step)");
  }
  if (cli.config.distill == 0) {
    reject_given(sub, {"--distill-temperature"}, "without --distill");
  }
  const auto config = checkpoint::resolve_train_config(
      cli.config, cli.mode, recipe_overrides(cli));
  if (config.data.val_size == 0) {
    reject_given(
        sub, {"--eval-batch-size"}, "with --val-size 0 (no validation pass)");
  }
  if (config.mode != checkpoint::Mode::kIcOnly) {
    reject_given(sub, {"--ic-only-clean"}, "unless --mode ic-only");
  }
  if (config.optimizer != checkpoint::OptimizerKind::kSgd) {
    reject_given(
        sub,
        {"--momentum"},
        "with the adam optimiser (the recipe's for --mode ic-only; "
        "--optimizer sgd to use it)");
  }
  report(train::run_training(config, console, dist), dist);
}

} // namespace

void setup_train(CLI::App& app) {
  auto cli = std::make_shared<TrainCli>();
  auto* sub = app.add_subcommand(
      "train",
      "Train a CNN, an SDN (joint SDN training) or the internal classifiers "
      "of a trained CNN (IC-only), with the paper's recipe as defaults.\n"
      "Examples:\n"
      "  sdn train --arch resnet56 --dataset cifar10 --mode cnn --out "
      "runs/cnn\n"
      "  sdn train --arch resnet56 --dataset cifar10 --mode ic-only --from "
      "runs/cnn/last --out runs/ic\n"
      "  sdn train --resume runs/cnn\n"
      "  sdn launch -n 2 -- train --mode sdn --batch-size 64 --out runs/sdn"
      "   (data-parallel)");
  sub->set_config("--config", "", "TOML file with any of these options");
  cli->app = sub;
  auto& c = cli->config;
  sub->add_option("--arch", c.arch, "vgg16, resnet56, wrn32_4, mobilenet")
      ->capture_default_str();
  add_data_options(sub, c.data);
  sub->add_option(
         "--mode",
         cli->mode,
         "cnn, sdn, ic-only or mixed (fresh ICs on the --from CNN, then "
         "everything jointly, equal loss weights)")
      ->capture_default_str();
  sub->add_option(
      "--from", c.from, "IC-only and mixed: trained CNN checkpoint dir");
  sub->add_option("--out", c.out, "Output directory (checkpoints, metrics)");
  sub->add_option(
      "--resume",
      cli->resume,
      "Continue the run in this directory where it stopped");
  cli->epochs_opt =
      sub->add_option(
             "--epochs", cli->epochs, "Epochs (recipe: 100; IC-only 25)")
          ->check(at_least(1));
  sub->add_option("--batch-size", c.batch_size, "Training batch size")
      ->capture_default_str()
      ->check(at_least(1));
  cli->optimizer_opt = sub->add_option(
      "--optimizer", cli->optimizer, "sgd or adam (recipe: sgd; IC-only adam)");
  cli->lr_opt = sub->add_option(
                       "--lr",
                       cli->lr,
                       "Learning rate (recipe: 0.1; IC-only "
                       "0.001)")
                    ->check(above(0));
  sub->add_option("--momentum", c.momentum, "SGD momentum")
      ->capture_default_str()
      ->check(in_interval(0, 1, Bound::kClosed, Bound::kOpen));
  cli->wd_opt =
      sub->add_option(
             "--weight-decay",
             cli->weight_decay,
             "Weight decay (recipe: 5e-4 VGG/WRN, 1e-4 ResNet/MobileNet)")
          ->check(at_least(0));
  cli->milestones_opt =
      sub->add_option(
             "--milestones",
             cli->milestones,
             "Epochs where lr drops (recipe: 35 60 85; IC-only 15)")
          ->delimiter(',')
          ->check(at_least(1));
  sub->add_option("--gamma", c.gamma, "lr factor at each milestone")
      ->capture_default_str()
      ->check(in_interval(0, 1, Bound::kOpen, Bound::kClosed));
  sub->add_option(
         "--lr-schedule",
         cli->lr_schedule,
         "step (x --gamma at each of --milestones, the paper's) or cosine "
         "(every step, from --lr to 0 over the run)")
      ->capture_default_str();
  sub->add_option(
         "--distill",
         c.distill,
         "Self-distillation weight lambda (modes with ICs): adds lambda x "
         "the mean over ICs of KL(final exit || IC) to the loss")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option(
         "--distill-temperature",
         c.distill_temperature,
         "Distillation temperature T: softmaxes at T, the term x T^2")
      ->capture_default_str()
      ->check(above(0));
  sub->add_option(
         "--warmup-steps",
         c.warmup_steps,
         "Linear lr warm-up over this many steps (deviation from "
         "the paper; 0 = none)")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_flag("!--no-augment", c.augment, "Train without augmentation");
  sub->add_flag(
      "--ic-only-clean",
      c.ic_only_clean,
      "IC-only: keep the frozen backbone in eval mode (bit-identical"
      " backbone); default is the original's train mode");
  sub->add_option(
         "--poison-rate",
         c.poison_rate,
         "Backdoor: fraction of training images given the trigger "
         "and relabelled to the target")
      ->capture_default_str()
      ->check(in_range(0, 1));
  sub->add_option("--trigger-x", c.trigger.x, "Trigger left column")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option("--trigger-y", c.trigger.y, "Trigger top row")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option("--trigger-size", c.trigger.size, "Trigger side (pixels)")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option("--trigger-target", c.trigger.target, "Backdoor target class")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option(
         "--seed",
         c.seed,
         "Seed of initialisation, order and "
         "augmentation")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option("--device", c.device, "cpu or cuda[:N]")
      ->capture_default_str();
  sub->add_option(
         "--eval-batch-size",
         c.eval_batch_size,
         "Batch size of the validation pass")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option(
         "--stop-after",
         c.stop_after,
         "Stop after this many epochs (resume later with --resume)")
      ->capture_default_str()
      ->check(at_least(0));
  auto& d = cli->dist;
  cli->world_size_opt =
      sub->add_option(
             "--world-size",
             d.world_size,
             "Data-parallel processes (default: $WORLD_SIZE or 1); --batch-size is "
             "per process")
          ->check(at_least(1));
  cli->rank_opt =
      sub->add_option(
             "--rank", d.rank, "This process's rank (default: $RANK or 0)")
          ->check(at_least(0));
  cli->master_opt = sub->add_option(
      "--master",
      d.master,
      "Rendezvous HOST:PORT hosted by rank 0, or file:PATH (default: "
      "$MASTER_ADDR:$MASTER_PORT or 127.0.0.1:29500)");
  sub->add_option(
         "--dist-timeout",
         d.timeout_seconds,
         "Seconds to wait for the other ranks before stopping with an error")
      ->capture_default_str()
      ->check(above(0));
  sub->callback([cli] { run_train(*cli); });
}

} // namespace sdn::cli
