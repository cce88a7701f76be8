#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

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

/// The whole `sdn` command line: the root app with its global options
/// (--threads, --version) and every subcommand.
std::unique_ptr<CLI::App> make_app();

/// Parses `args` (without the program name) into `app`, expanding each
/// subcommand's --config file first; runs the chosen subcommand's callback.
/// Throws what CLI11 and the subcommand throw (CLI::ParseError, sdn::Error,
/// c10::Error, std::exception).
void parse_command_line(CLI::App& app, std::vector<std::string> args);

/// `sdn`'s main: runs the command line, turns every error into one
/// `error: ...` line on stderr and a non-zero exit status, and checks that
/// everything written to stdout reached it (a full disk is an error, not a
/// cut file). Returns the exit status.
int run_command_line(int argc, char** argv);

} // namespace sdn::cli
