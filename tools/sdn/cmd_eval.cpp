// `sdn eval`: runs a checkpoint once over a split and writes its exit trace.
#include "commands.h"
#include "option_checks.h"

#include "sdn/analysis/exit_trace.h"
#include "sdn/inference/trace_builder.h"
#include "sdn/util/error.h"
#include "sdn/util/output_lock.h"

#include <cstdio>
#include <memory>

namespace sdn::cli {

namespace {

struct EvalCli {
  inference::TraceOptions options;
  std::string out;
  const CLI::App* app = nullptr;
};

void run_eval(const EvalCli& cli) {
  if (!cli.options.trigger) {
    reject_given(
        *cli.app,
        {"--trigger-x", "--trigger-y", "--trigger-size", "--trigger-target"},
        "without --trigger");
  }
  if (!cli.options.ood_source.empty()) {
    reject_given(
        *cli.app,
        {"--split", "--trigger"},
        "with --ood-source (OOD images stand in for the test split)");
  }
  apply_global_options();
  cli.options.validate(); // before anything is locked or read
  check(!cli.out.empty(), "--out: an output directory is required");
  // Held from before the evaluation until the trace is in place.
  const auto lock = OutputLock::acquire(cli.out, "--out");
  analysis::check_trace_destination(cli.out);
  const auto trace = inference::evaluate_checkpoint(cli.options);
  analysis::write_trace(cli.out, trace);
  std::fprintf(
      stderr,
      "trace: %s (%lld samples x %lld exits x %lld classes)\n",
      cli.out.c_str(),
      static_cast<long long>(trace.num_samples),
      static_cast<long long>(trace.num_exits),
      static_cast<long long>(trace.num_classes));
}

} // namespace

void setup_eval(CLI::App& app) {
  auto cli = std::make_shared<EvalCli>();
  auto* sub = app.add_subcommand(
      "eval",
      "Run a checkpoint once over a split (no augmentation) and write its exit "
      "trace: probs.npy [N,E,K], labels.npy [N], meta.json "
      "(docs/exit-trace.md).\n"
      "Example: sdn eval --checkpoint runs/sdn/last --split test --out "
      "runs/sdn/trace-test");
  cli->app = sub;
  auto& o = cli->options;
  sub->add_option("--checkpoint", o.checkpoint, "Checkpoint directory")
      ->required();
  sub->add_option("--split", o.split, "train, val or test")
      ->capture_default_str();
  sub->add_option("--out", cli->out, "Trace directory to write")->required();
  sub->add_option(
      "--data-dir", o.data_dir, "Data directory (default: the checkpoint's)");
  sub->add_option(
         "--max-samples",
         o.max_samples,
         "Evaluate only the first N samples (0: all)")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option(
      "--ood-source",
      o.ood_source,
      "Instead of a split: out-of-distribution images, uniform-noise, "
      "gaussian-noise, inverted (255 - x of the test images), "
      "held-out-classes (test images of the classes a checkpoint trained "
      "with --classes left out) or a data set name of the same image shape; writes an OOD trace (labels -1) for "
      "sdn report --ood-trace");
  sub->add_option(
      "--ood-data-dir",
      o.ood_data_dir,
      "Where the --ood-source data set is read from (default: its usual "
      "place)");
  sub->add_flag(
      "--trigger",
      o.trigger,
      "Paste the backdoor trigger on every image (labels kept)");
  sub->add_option("--trigger-x", o.trigger_options.x, "Trigger left column")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option("--trigger-y", o.trigger_options.y, "Trigger top row")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option("--trigger-size", o.trigger_options.size, "Trigger side")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option(
         "--trigger-target",
         o.trigger_options.target,
         "Backdoor target class (recorded in the trace)")
      ->capture_default_str()
      ->check(at_least(0));
  sub->add_option("--batch-size", o.eval.batch_size, "Batch size")
      ->capture_default_str()
      ->check(at_least(1));
  sub->add_option("--device", o.eval.device, "cpu or cuda[:N]")
      ->capture_default_str();
  sub->add_flag(
      "!--no-channels-last", o.eval.channels_last, "NCHW convolutions");
  sub->add_flag(
      "!--no-fuse",
      o.eval.fold_batch_norm,
      "Keep BatchNorms separate (do not fold them into the convolutions; "
      "probabilities differ only by float rounding)");
  sub->callback([cli] { run_eval(*cli); });
}

} // namespace sdn::cli
