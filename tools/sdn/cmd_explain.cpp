// `sdn explain`: Grad-CAM maps of every exit for chosen samples of a split.
#include "commands.h"
#include "option_checks.h"

#include "sdn/app/explain.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "sdn/util/output_lock.h"

#include <cstdio>
#include <memory>

namespace sdn::cli {

namespace {

struct ExplainCli {
  app::ExplainOptions options;
  const CLI::App* app = nullptr;
};

void run_explain(const ExplainCli& cli) {
  const app::ExplainOptions& o = cli.options;
  if (o.select == "first") {
    reject_given(
        *cli.app,
        {"--batch-size"},
        "with --select first (no scan of the split)");
  }
  apply_global_options();
  o.validate(); // before anything is locked or read
  // Held from before the work until the folder is in place.
  const auto lock = OutputLock::acquire(o.out, "--out");
  check_output_folder(o.out, "--out", app::explain_files());
  const app::Explanation explanation = app::explain(o);
  if (static_cast<int64_t>(explanation.indices.size()) < o.samples) {
    std::fprintf(
        stderr,
        "warning: %s: only %zu of the %lld samples asked for qualify "
        "(--select %s)\n",
        o.split.c_str(),
        explanation.indices.size(),
        static_cast<long long>(o.samples),
        o.select.c_str());
  }
  app::write_explanation(o, explanation);
  std::fprintf(
      stderr,
      "explain: %s (grad_cam.png, maps.npy [%lld, %lld, %lld, %lld], "
      "explain.json)\n",
      o.out.c_str(),
      static_cast<long long>(explanation.cam.maps.size(0)),
      static_cast<long long>(explanation.cam.maps.size(1)),
      static_cast<long long>(explanation.cam.maps.size(2)),
      static_cast<long long>(explanation.cam.maps.size(3)));
}

} // namespace

void setup_explain(CLI::App& app) {
  auto cli = std::make_shared<ExplainCli>();
  auto* sub = app.add_subcommand(
      "explain",
      "Grad-CAM per exit: for chosen samples of a split, the map of every "
      "exit (ICs, then the final exit) on the feature map it reads. Writes "
      "grad_cam.png (a row per sample), maps.npy [N,E,H,W] and explain.json "
      "(docs/exit-trace.md#grad-cam).\n"
      "Example: sdn explain --checkpoint runs/sdn/last --split test "
      "--samples 8 --select destructive --out runs/sdn/explain");
  cli->app = sub;
  auto& o = cli->options;
  sub->add_option("--checkpoint", o.checkpoint, "Checkpoint directory")
      ->required();
  sub->add_option("--split", o.split, "train, val or test")
      ->capture_default_str();
  sub->add_option("--samples", o.samples, "How many samples")
      ->capture_default_str()
      ->check(in_range(1, 1000));
  sub->add_option(
         "--select",
         o.select,
         "first (the split's first samples) or destructive (the first that "
         "an IC gets right and the final exit wrong)")
      ->capture_default_str();
  sub->add_option(
         "--target",
         o.target,
         "predicted (each exit's own prediction) or true (the label) as the "
         "class each map explains")
      ->capture_default_str();
  sub->add_option("--out", o.out, "Folder to write")->required();
  sub->add_option(
      "--data-dir", o.data_dir, "Data directory (default: the checkpoint's)");
  sub->add_option("--device", o.device, "cpu or cuda[:N]")
      ->capture_default_str();
  sub->add_option(
         "--batch-size",
         o.batch_size,
         "Batch size of the scan for --select destructive")
      ->capture_default_str()
      ->check(at_least(1));
  sub->callback([cli] { run_explain(*cli); });
}

} // namespace sdn::cli
