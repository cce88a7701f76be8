#pragma once

#include <CLI/CLI.hpp>

namespace sdn::cli {

/// Options every subcommand shares, parsed on the root command.
struct GlobalOptions {
  int threads = 0; ///< 0: one per core.
};

/// The global options, filled by the root parser before any subcommand runs.
GlobalOptions& global_options();

/// Applies the global options (threads) before a subcommand runs.
void apply_global_options();

/// Adds every subcommand to `app`. One `setup_*` per file in tools/sdn.
void register_commands(CLI::App& app);

} // namespace sdn::cli
