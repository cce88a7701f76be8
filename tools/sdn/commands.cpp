#include "commands.h"

#include "sdn/device/threads.h"
#include "sdn/util/allocator.h"

#include <cstdlib>
#include <string>

namespace sdn::cli {

GlobalOptions& global_options() {
  static GlobalOptions options;
  return options;
}

void apply_global_options() {
  configure_threads(global_options().threads);
  // SDN_KEEP_FREED_MEMORY=0 keeps glibc's default malloc tuning (for A/B
  // measurements; see docs/performance.md).
  const char* keep = std::getenv("SDN_KEEP_FREED_MEMORY");
  if (keep == nullptr || std::string(keep) != "0") {
    keep_freed_memory();
  }
}

// Each subcommand lives in its own file; declare and call its setup here.
void setup_paper(CLI::App& app);
void setup_report(CLI::App& app);
void setup_version(CLI::App& app);
void setup_bench(CLI::App& app);
void setup_data(CLI::App& app);
void setup_eval(CLI::App& app);
void setup_exit(CLI::App& app);
void setup_info(CLI::App& app);
void setup_train(CLI::App& app);
void setup_launch(CLI::App& app);

void register_commands(CLI::App& app) {
  setup_paper(app);
  setup_data(app);
  setup_info(app);
  setup_train(app);
  setup_launch(app);
  setup_eval(app);
  setup_exit(app);
  setup_bench(app);
  setup_report(app);
  setup_version(app);
}

} // namespace sdn::cli
