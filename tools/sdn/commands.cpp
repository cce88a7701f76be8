#include "commands.h"

#include "sdn/util/threads.h"

namespace sdn::cli {

GlobalOptions& global_options() {
  static GlobalOptions options;
  return options;
}

void apply_global_options() {
  configure_threads(global_options().threads);
}

// Each subcommand lives in its own file; declare and call its setup here.
void setup_report(CLI::App& app);
void setup_version(CLI::App& app);

void register_commands(CLI::App& app) {
  setup_report(app);
  setup_version(app);
}

} // namespace sdn::cli
