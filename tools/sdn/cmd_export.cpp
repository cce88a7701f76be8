// `sdn export`: a checkpoint's weights as safetensors or a PyTorch
// state_dict (docs/interop.md).
#include "commands.h"
#include "option_checks.h"

#include "sdn/checkpoint/export.h"
#include "sdn/util/error.h"
#include "sdn/util/output_lock.h"

#include <cstdio>
#include <filesystem>
#include <memory>

namespace sdn::cli {

namespace {

struct ExportCli {
  std::string checkpoint;
  std::string format = "safetensors";
  std::string out;
};

void run_export(const ExportCli& cli) {
  const checkpoint::ExportFormat format =
      checkpoint::parse_export_format(cli.format);
  apply_global_options();
  // The lock would create the folder; export writes into existing ones.
  const std::filesystem::path parent =
      std::filesystem::path(cli.out).parent_path();
  check(
      parent.empty() || std::filesystem::is_directory(parent),
      "--out ",
      cli.out,
      ": no folder ",
      parent.string(),
      " (export writes into an existing folder)");
  const auto lock = OutputLock::acquire(cli.out, "--out");
  checkpoint::export_checkpoint(cli.checkpoint, format, cli.out);
  std::fprintf(
      stderr, "export: %s (%s)\n", cli.out.c_str(), cli.format.c_str());
}

} // namespace

void setup_export(CLI::App& app) {
  auto cli = std::make_shared<ExportCli>();
  auto* sub = app.add_subcommand(
      "export",
      "Write a checkpoint's weights (every parameter and buffer under its "
      "stable name) as safetensors, with the checkpoint's facts as metadata, "
      "or as a PyTorch state_dict that torch.load reads "
      "(docs/interop.md).\n"
      "Example: sdn export --checkpoint runs/sdn/last --format safetensors "
      "--out sdn.safetensors");
  sub->add_option("--checkpoint", cli->checkpoint, "Checkpoint directory")
      ->required();
  sub->add_option("--format", cli->format, "safetensors or pytorch")
      ->capture_default_str();
  sub->add_option("--out", cli->out, "File to write")->required();
  sub->callback([cli] { run_export(*cli); });
}

} // namespace sdn::cli
