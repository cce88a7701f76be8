// `sdn paper`: the paper's whole pipeline (CNN, IC-only, SDN training,
// traces, early-exit table, overthinking, confusion, HTML report), resumable.
#include "commands.h"
#include "data_options.h"
#include "option_checks.h"

#include "sdn/pipeline/paper.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace sdn::cli {

namespace {

struct PaperCli {
  pipeline::PaperOptions options;
  std::string lr_schedule = "step";
  int64_t mixed_epochs = 0;
  double mixed_lr = 0;
  bool quick = false;
  /// Options the --quick preset sets; given explicitly, they win over it.
  std::vector<CLI::Option*> preset;
};

} // namespace

void setup_paper(CLI::App& app) {
  auto cli = std::make_shared<PaperCli>();
  auto* sub = app.add_subcommand(
      "paper",
      "Run the paper end to end: train a CNN, convert it by IC-only "
      "training, train an SDN from the CNN's initialisation (or the "
      "--regimes given), trace them all on validation and test (the SDNs "
      "also on inverted images and Gaussian noise), print the paper's tables, every exit policy, calibration, "
      "OOD detection and the verdict on each of its claims, and write "
      "OUT/report.html (with Grad-CAM grids) and OUT/summary.json. Rerunning "
      "resumes where it stopped.\n"
      "Examples:\n"
      "  sdn paper --config configs/demo-fashion-mnist.toml --out runs/demo\n"
      "  sdn paper --quick --out runs/quick\n"
      "  sdn paper --config configs/reference-fashion-mnist.toml --seeds "
      "1,2,3 --regimes ic-only,ic-only-clean,sdn,mixed,mixed+distill --out "
      "runs/reference");
  sub->set_config("--config", "", "TOML file with any of these options");
  auto& o = cli->options;
  sub->add_option("--arch", o.arch, "vgg16, resnet56, wrn32_4, mobilenet")
      ->capture_default_str();
  add_data_options(sub, o.data);
  sub->add_option("--out", o.out, "Output directory")->capture_default_str();
  sub->add_flag(
      "--quick",
      cli->quick,
      "Small preset (2000 training images, 2 epochs): minutes");
  sub->add_option("--epochs", o.cnn_epochs, "CNN and SDN training epochs")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option("--ic-epochs", o.ic_epochs, "IC-only training epochs")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option("--batch-size", o.batch_size, "Training batch size")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option("--lr", o.lr, "CNN/SDN learning rate (paper: 0.1)")
      ->capture_default_str()
      ->check(above(0));
  sub->add_option(
         "--warmup-steps",
         o.warmup_steps,
         "Linear lr warm-up steps (paper: none)")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option("--milestones", o.milestones, "CNN/SDN lr drops (x0.1)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option(
         "--lr-schedule",
         cli->lr_schedule,
         "CNN, SDN and mixed training: step (x0.1 at each of --milestones, "
         "the paper's) or cosine (every step, from --lr to 0 over the run)")
      ->capture_default_str();
  sub->add_option(
         "--regimes",
         o.regimes,
         "Networks with ICs to train and compare side by side "
         "(comma-separated): ic-only (the original: frozen backbone in "
         "train mode), ic-only-clean (in eval mode), sdn, mixed (fresh ICs "
         "on the trained CNN, then all jointly), each optionally +distill")
      ->delimiter(',')
      ->type_name("LIST")
      ->capture_default_str();
  sub->add_option(
         "--mixed-epochs",
         cli->mixed_epochs,
         "Mixed regimes: epochs (default: --epochs)")
      ->check(at_least(1));
  sub->add_option(
         "--mixed-lr", cli->mixed_lr, "Mixed regimes: lr (default: --lr)")
      ->check(above(0));
  sub->add_option(
         "--distill",
         o.distill,
         "The +distill regimes: weight lambda of the mean over ICs of "
         "KL(final exit || IC), x T^2")
      ->capture_default_str()
      ->check(above(0));
  sub->add_option(
         "--distill-temperature",
         o.distill_temperature,
         "The +distill regimes: temperature T")
      ->capture_default_str()
      ->check(above(0));
  sub->add_option("--ic-lr", o.ic_lr, "IC-only learning rate (Adam)")
      ->capture_default_str()
      ->check(above(0));
  sub->add_option("--ic-milestones", o.ic_milestones, "IC-only lr drops")
      ->delimiter(',')
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option(
         "--test-samples",
         o.test_samples,
         "Trace only the first N test samples (0: all)")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option(
         "--train-trace-samples",
         o.train_trace_samples,
         "Training samples traced for the confusion statistics")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option(
         "--ood-samples",
         o.ood_samples,
         "Images per out-of-distribution trace (inverted test images, "
         "Gaussian noise; 0: as many as the test split)")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option(
         "--grid-images",
         o.grid_images,
         "Images per exit in the report's image grids")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option("--seed", o.seed, "Seed of initialisation and order")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option(
         "--seeds",
         o.seeds,
         "Run once per seed (comma-separated) into OUT/seed-N/, then print "
         "every figure as mean +- sd over them and write OUT/aggregate.json")
      ->delimiter(',')
      ->type_name("LIST")
      ->check(at_least(0));
  sub->add_flag(
      "--aggregate-only",
      o.aggregate_only,
      "With --seeds: train and trace nothing, aggregate the finished runs' "
      "OUT/seed-N/summary.json and report files (kept without checkpoints)");
  sub->add_option("--device", o.device, "cpu or cuda[:N]")
      ->capture_default_str();
  for (const auto& name : pipeline::PaperOptions::quick_options()) {
    cli->preset.push_back(sub->get_option(name));
  }
  sub->callback([sub, cli] {
    auto options = cli->options;
    if (cli->quick) {
      std::set<std::string> given;
      for (auto* opt : cli->preset) {
        if (opt->count() > 0) {
          given.insert(opt->get_name());
        }
      }
      options.apply_quick(given);
    }
    check_data_options(*sub, options.data);
    options.lr_schedule = checkpoint::parse_lr_schedule(cli->lr_schedule);
    if (options.lr_schedule == checkpoint::LrSchedule::kCosine) {
      reject_given(
          *sub,
          {"--milestones"},
          "with --lr-schedule cosine (the rate falls every step)");
    }
    if (sub->get_option("--mixed-epochs")->count() > 0) {
      options.mixed_epochs = cli->mixed_epochs;
    }
    if (sub->get_option("--mixed-lr")->count() > 0) {
      options.mixed_lr = cli->mixed_lr;
    }
    bool ic_only = false;
    bool distill = false;
    for (const auto& regime : options.parsed_regimes()) {
      ic_only = ic_only || regime.mode == checkpoint::Mode::kIcOnly;
      distill = distill || regime.distill;
    }
    if (!ic_only) {
      reject_given(
          *sub,
          {"--ic-epochs", "--ic-lr", "--ic-milestones"},
          "without an ic-only regime in --regimes");
    }
    if (!distill) {
      reject_given(
          *sub,
          {"--distill", "--distill-temperature"},
          "without a +distill regime in --regimes");
    }
    if (!options.seeds.empty()) {
      reject_given(*sub, {"--seed"}, "with --seeds (each run takes one)");
    }
    apply_global_options();
    pipeline::run_paper(options);
  });
}

} // namespace sdn::cli
