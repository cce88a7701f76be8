// Fuzz target: a TOML config file given to a subcommand's --config
// (app::expand_config_files), expanded against the real command tree of
// `sdn` for every subcommand that takes --config. The documented rejection
// is CLI::Error (CLI::ConfigError, CLI::FileError).
#include "sdn/app/config_file.h"

#include "commands.h"
#include "fuzz_support.h"

#include <memory>
#include <vector>

namespace {

struct Command {
  CLI::App app{"sdn", "sdn"};
  std::vector<std::string> with_config; ///< Subcommands taking --config.
  Command() {
    sdn::cli::register_commands(app);
    for (const CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_option_no_throw("--config") != nullptr) {
        with_config.push_back(sub->get_name());
      }
    }
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto command = std::make_unique<Command>();
  const std::string path = sdn::fuzz::write_scratch(
      "config.toml", std::string(reinterpret_cast<const char*>(data), size));
  for (const std::string& name : command->with_config) {
    sdn::fuzz::expect_clean<CLI::Error>("expand_config_files", [&] {
      sdn::app::expand_config_files(command->app, {name, "--config", path});
    });
  }
  return 0;
}
