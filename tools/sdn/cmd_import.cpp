// `sdn import`: a PyTorch state_dict or safetensors file into an sdn CNN
// checkpoint (docs/interop.md#sdn-import).
#include "commands.h"
#include "data_options.h"

#include "sdn/checkpoint/import.h"
#include "sdn/util/error.h"

#include <cstdio>
#include <memory>

namespace sdn::cli {

namespace {

struct ImportCli {
  checkpoint::ImportOptions options;
  const CLI::App* app = nullptr;
};

void run_import(const ImportCli& cli) {
  check_data_options(*cli.app, cli.options.data);
  apply_global_options();
  const checkpoint::CheckpointMeta meta =
      checkpoint::import_checkpoint(cli.options);
  std::fprintf(
      stderr,
      "import: %s (%s CNN for %s, %lld classes, from %s %s)\n",
      cli.options.out.c_str(),
      meta.arch.c_str(),
      meta.dataset.c_str(),
      static_cast<long long>(meta.num_classes),
      meta.imported_from->format.c_str(),
      cli.options.from.c_str());
}

} // namespace

void setup_import(CLI::App& app) {
  auto cli = std::make_shared<ImportCli>();
  auto* sub = app.add_subcommand(
      "import",
      "Make an sdn CNN checkpoint (as sdn train --mode cnn writes) from a "
      "PyTorch state_dict (torch.save, zip format) or a safetensors file, "
      "told apart by content. Every tensor is checked against the network "
      "the arch and the data set give: names (sdn's, docs/interop.md#names, "
      "or renamed by --name-map), shapes and dtypes; every mismatch is "
      "listed in one error and nothing is written. The data options, as "
      "sdn train's, say which data the network is for (its input shape and "
      "classes, and the splits sdn eval reads); the checkpoint then serves "
      "sdn eval and sdn train --mode ic-only --from.\n"
      "Example: sdn import --arch resnet56 --dataset cifar10 --from "
      "resnet56.pt --out runs/imported");
  cli->app = sub;
  auto& o = cli->options;
  sub->add_option("--arch", o.arch, "vgg16, resnet56, wrn32_4, mobilenet")
      ->required();
  add_data_options(sub, o.data);
  sub->add_option(
         "--from", o.from, "State_dict file: PyTorch zip or safetensors")
      ->required();
  sub->add_option(
      "--name-map",
      o.name_map,
      "Text file of name pairs, one a line: the file's name, then sdn's "
      "(# comments); names it does not list are taken as they are");
  sub->add_option("--out", o.out, "Checkpoint folder to create")->required();
  sub->callback([cli] { run_import(*cli); });
}

} // namespace sdn::cli
